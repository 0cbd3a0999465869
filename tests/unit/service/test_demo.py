"""seed_demo fills the customer-service screens, and a second run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import (
    AlertRule,
    Appointment,
    MessageTemplate,
    Outage,
    SlaPolicy,
    Technician,
    Ticket,
    TicketCategory,
)

pytestmark = pytest.mark.django_db


def test_the_demo_has_tickets_sla_policies_categories_and_an_outage_at_mueller(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    tickets = Ticket.objects.filter(account__customer_number="100234")
    assert tickets.count() == 2
    assert all(t.resolution_due_at is not None for t in tickets)
    assert tickets.filter(outage__reference="ST-DEMO-10117").exists()
    assert SlaPolicy.objects.count() == 4
    assert TicketCategory.objects.filter(parent__name="Internet", name="Störung").exists()
    assert Outage.objects.get().areas.filter(postcode="10117").exists()
    assert AlertRule.objects.filter(name="Offene Beschwerde", actions__kind="navigate").exists()
    assert MessageTemplate.objects.count() == 2
    assert Appointment.objects.filter(ticket__account__customer_number="100234").count() == 1
    assert Technician.objects.filter(skills__code="glasfaser").count() == 2
    counts = (Ticket.objects.count(), SlaPolicy.objects.count(), AlertRule.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (
        Ticket.objects.count(),
        SlaPolicy.objects.count(),
        AlertRule.objects.count(),
    ) == counts
