"""Managers author in the admin; user management gives them roles, not superpowers."""

import pytest
from django.contrib.auth.models import Group, User

from tests.factories import CustomerGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


def test_managers_can_open_the_project_admin_pages(manager_client):
    for url in [
        "/admin/",
        "/admin/accounts/account/",
        "/admin/accounts/account/add/",
        "/admin/telephony/agent/",
        "/admin/telephony/call/",
        "/admin/auth/user/",
    ]:
        assert manager_client.get(url).status_code == 200, url


def test_agents_and_outsiders_have_no_admin(client, agent, outsider_user):
    for user in (agent.user, outsider_user):
        client.force_login(user)
        assert client.get("/admin/").status_code == 302


def test_a_manager_gives_the_agent_role_but_cannot_make_anyone_superuser(
    manager_client, manager_user
):
    user = UserFactory(username="neu")
    agent_group = Group.objects.get(name="agent")
    business = CustomerGroupFactory(code="gewerbe", name="Gewerbe")
    response = manager_client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "neu",
            "first_name": "Neu",
            "last_name": "Agent",
            "email": "",
            "is_active": "on",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [agent_group.pk],
            "date_joined_0": "2026-11-24",
            "date_joined_1": "10:00:00",
            "customer_group_access-TOTAL_FORMS": "1",
            "customer_group_access-INITIAL_FORMS": "0",
            "customer_group_access-0-customer_group": business.pk,
            "customer_group_access-0-read_only": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert list(user.groups.all()) == [agent_group]
    assert list(user.customer_group_access.values_list("customer_group__code", "read_only")) == [
        ("gewerbe", True)
    ]
    assert not user.is_superuser
    assert not user.is_staff
    manager_user.refresh_from_db()
    assert not manager_user.is_superuser


def test_a_manager_cannot_change_a_superuser(manager_client):
    root = User.objects.create_superuser("root", "root@example.de", "x-very-secret-1")
    response = manager_client.post(f"/admin/auth/user/{root.pk}/change/", {"username": "hacked"})
    root.refresh_from_db()
    assert root.username == "root"
    assert response.status_code in (302, 403)
