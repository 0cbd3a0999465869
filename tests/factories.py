"""factory_boy factories for the models tests need most."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from accounts.models import (
    Account,
    Address,
    Contact,
    ContactPoint,
    CustomerGroup,
    CustomerGroupAccess,
    Interaction,
)
from accounts.phone import phone_normalize
from telephony.models import Agent


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Erika"
    last_name = factory.Sequence(lambda n: f"Mustermann{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))
        if create:
            self.save()


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory, roles=["agent"])
    extension = factory.Sequence(lambda n: str(2100 + n))
    state = Agent.State.READY


class CustomerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerGroup
        django_get_or_create = ["code"]

    code = "privat"
    name = "Privatkunden"


def grant(user: User, *groups: CustomerGroup, read_only: bool = False) -> None:
    """Give the user access to the customer groups' accounts and tickets (mandant)."""
    for group in groups:
        CustomerGroupAccess.objects.update_or_create(
            user=user, customer_group=group, defaults={"read_only": read_only}
        )
    if hasattr(user, "_icenter_access"):
        del user._icenter_access


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    kind = Account.Kind.PERSON
    customer_number = factory.Sequence(lambda n: str(500000 + n))
    first_name = "Jürgen"
    last_name = factory.Sequence(lambda n: f"Weiß{n}")
    name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory, kind=Account.Kind.ORGANISATION)
    first_name = "Käthe"
    last_name = "Schröder"


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    account = factory.SubFactory(AccountFactory)
    kind = ContactPoint.Kind.PHONE
    value = factory.Sequence(lambda n: f"030 {2000000 + n}")
    normalized = factory.LazyAttribute(lambda o: phone_normalize(o.value))


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    account = factory.SubFactory(AccountFactory)
    street = "Friedrichstraße 123"
    postcode = "10117"
    city = "Berlin"


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    channel = Interaction.Channel.PHONE
    direction = Interaction.Direction.INBOUND
    account = factory.SubFactory(AccountFactory)
    started_at = factory.LazyFunction(timezone.now)
    outcome = Interaction.Outcome.COMPLETED


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket stored directly (no SLA, no audit row); use accounts.services.ticket_create
    when the test is about what creating a ticket does."""

    class Meta:
        model = "accounts.Ticket"

    number = factory.Sequence(lambda n: f"T9{n:06d}")
    account = factory.SubFactory(AccountFactory)
    subject = factory.Sequence(lambda n: f"Kein Internet seit gestern ({n})")


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "telephony.Skill"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "telephony.Queue"

    name = factory.Sequence(lambda n: f"Queue {n}")
    number = factory.Sequence(lambda n: f"{7100 + n}")


class AgentGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "telephony.AgentGroup"

    name = factory.Sequence(lambda n: f"Team {n}")
