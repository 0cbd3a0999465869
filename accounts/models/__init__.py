"""The accounts app's models, one module per area; import them from here."""

from accounts.models.alerts import AlertAction, AlertCondition, AlertRule
from accounts.models.appointments import (
    Appointment,
    ServiceRegion,
    ServiceSkill,
    Technician,
)
from accounts.models.core import (
    Account,
    Address,
    Contact,
    ContactPoint,
    CustomerGroup,
    CustomerGroupAccess,
    Interaction,
)
from accounts.models.duplicates import AccountMerge, Presence
from accounts.models.outreach import MessageTemplate
from accounts.models.tickets import (
    BusinessCalendar,
    BusinessHours,
    CalendarClosure,
    Outage,
    OutageArea,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChange,
    TicketMessage,
)

__all__ = [
    "Account",
    "AccountMerge",
    "Address",
    "AlertAction",
    "AlertCondition",
    "AlertRule",
    "Appointment",
    "BusinessCalendar",
    "BusinessHours",
    "CalendarClosure",
    "Contact",
    "ContactPoint",
    "CustomerGroup",
    "CustomerGroupAccess",
    "Interaction",
    "MessageTemplate",
    "Outage",
    "OutageArea",
    "Presence",
    "ServiceRegion",
    "ServiceSkill",
    "SlaPolicy",
    "Technician",
    "Ticket",
    "TicketAttachment",
    "TicketCategory",
    "TicketChange",
    "TicketMessage",
]
