"""Managers author queues, skills, groups and codes in the admin; work items are read-only."""

from __future__ import annotations

import pytest

from telephony.models import (
    AgentGroup,
    AgentSkill,
    NotReadyReason,
    OrgUnit,
    Position,
    Queue,
    Skill,
    WorkItem,
    WrapUpCode,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


def inline_management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_managers_open_every_telephony_admin_page(manager_client):
    unit = OrgUnit.objects.create(name="Service")
    queue = Queue.objects.create(name="Hotline", number="7000")
    item = WorkItem.objects.create(channel=WorkItem.Channel.EMAIL, queue=queue, subject="Hallo")
    pages = [
        "queue",
        "agentgroup",
        "orgunit",
        "position",
        "skill",
        "notreadyreason",
        "wrapupcode",
        "workitem",
        "agent",
    ]
    for model in pages:
        assert manager_client.get(f"/admin/telephony/{model}/").status_code == 200, model
        if model != "workitem":
            assert manager_client.get(f"/admin/telephony/{model}/add/").status_code == 200, model
    assert manager_client.get(f"/admin/telephony/queue/{queue.pk}/change/").status_code == 200
    assert manager_client.get(f"/admin/telephony/orgunit/{unit.pk}/change/").status_code == 200
    assert manager_client.get(f"/admin/telephony/workitem/{item.pk}/change/").status_code == 200


def test_a_manager_creates_a_queue_with_skills_and_opening_hours(manager_client):
    skill = Skill.objects.create(code="de", name="Deutsch")
    group = AgentGroup.objects.create(name="Team Nord")
    data = {
        "name": "Störungen",
        "number": "7100",
        "priority": "6",
        "is_active": "on",
        "agent_groups": [group.pk],
        "service_level_seconds": "30",
        "service_level_percent": "90",
        "ring_timeout_seconds": "20",
        "vip_wait_seconds": "30",
        "wrap_up_seconds": "45",
        "overflow_after_seconds": "",
        "busy_announcement": "Bitte warten.",
        "closed_announcement": "",
        **inline_management("required_skills", total=1),
        "required_skills-0-skill": str(skill.pk),
        "required_skills-0-min_level": "3",
        **inline_management("opening_hours", total=1),
        "opening_hours-0-weekday": "0",
        "opening_hours-0-opens": "08:00",
        "opening_hours-0-closes": "18:00",
    }
    response = manager_client.post("/admin/telephony/queue/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    queue = Queue.objects.get(name="Störungen")
    assert queue.service_level_percent == 90
    assert list(queue.agent_groups.all()) == [group]
    assert queue.required_skills.get().min_level == 3
    assert str(queue.opening_hours.get()) == "Monday 08:00–18:00"


def test_opening_hours_that_close_before_they_open_are_refused(manager_client):
    data = {
        "name": "Nachts",
        "priority": "5",
        "service_level_seconds": "20",
        "service_level_percent": "80",
        "ring_timeout_seconds": "20",
        "vip_wait_seconds": "30",
        "wrap_up_seconds": "30",
        **inline_management("required_skills"),
        **inline_management("opening_hours", total=1),
        "opening_hours-0-weekday": "1",
        "opening_hours-0-opens": "18:00",
        "opening_hours-0-closes": "08:00",
    }
    response = manager_client.post("/admin/telephony/queue/add/", data)
    assert response.status_code == 200
    assert not Queue.objects.filter(name="Nachts").exists()


def test_a_manager_gives_an_agent_skills_inline(manager_client, agent):
    skill = Skill.objects.create(code="en", name="English")
    page = manager_client.get(f"/admin/telephony/agent/{agent.pk}/change/")
    assert page.status_code == 200
    assert "skills-TOTAL_FORMS" in page.content.decode()
    data = {
        "user": str(agent.user_id),
        "extension": agent.extension,
        "capacity_email": "3",
        "capacity_chat": "2",
        **inline_management("skills", total=1),
        "skills-0-skill": str(skill.pk),
        "skills-0-level": "5",
    }
    response = manager_client.post(f"/admin/telephony/agent/{agent.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert AgentSkill.objects.get(agent=agent).level == 5


def test_managers_author_reason_and_wrap_up_codes_and_the_organisation(manager_client, agent):
    assert (
        manager_client.post(
            "/admin/telephony/notreadyreason/add/",
            {"code": "schulung", "label": "Schulung", "position": "5", "is_active": "on"},
        ).status_code
        == 302
    )
    assert (
        manager_client.post(
            "/admin/telephony/wrapupcode/add/",
            {"code": "verkauft", "label": "Verkauft", "position": "1", "is_active": "on"},
        ).status_code
        == 302
    )
    response = manager_client.post(
        "/admin/telephony/orgunit/add/",
        {
            "name": "Vertrieb",
            **inline_management("positions", total=1),
            "positions-0-name": "Teamleitung",
            "positions-0-holder": str(agent.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert NotReadyReason.objects.filter(code="schulung").exists()
    assert WrapUpCode.objects.filter(code="verkauft").exists()
    assert Position.objects.get(name="Teamleitung").holder == agent


def test_work_items_cannot_be_changed_in_the_admin(manager_client):
    item = WorkItem.objects.create(channel=WorkItem.Channel.EMAIL, subject="Hallo")
    assert manager_client.get("/admin/telephony/workitem/add/").status_code == 403
    manager_client.post(f"/admin/telephony/workitem/{item.pk}/change/", {"subject": "Neu"})
    assert (
        manager_client.post(
            f"/admin/telephony/workitem/{item.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    item.refresh_from_db()
    assert item.subject == "Hallo"


def test_supervisors_view_queues_but_cannot_change_them(client, supervisor_user):
    supervisor_user.is_staff = True
    supervisor_user.save()
    queue = Queue.objects.create(name="Hotline")
    client.force_login(supervisor_user)
    assert client.get("/admin/telephony/queue/").status_code == 200
    assert client.get("/admin/telephony/queue/add/").status_code == 403
    client.post(f"/admin/telephony/queue/{queue.pk}/change/", {"name": "Gehackt"})
    queue.refresh_from_db()
    assert queue.name == "Hotline"


def test_agents_have_no_telephony_admin(client, agent):
    client.force_login(agent.user)
    assert client.get("/admin/telephony/queue/").status_code == 302
