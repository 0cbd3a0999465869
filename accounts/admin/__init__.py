"""The managers' admin for the accounts app, one module per area."""

from accounts.admin import alerts, core, outreach, tickets

__all__ = ["alerts", "core", "outreach", "tickets"]
