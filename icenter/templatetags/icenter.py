from __future__ import annotations

from django import template

from accounts.phone import phone_display

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """Show an E.164 number in international format (+49 30 1234567)."""
    return phone_display(value or "")


@register.inclusion_tag("desk/partials/dial.html")
def dial(number: str) -> dict[str, str]:
    """A phone number the agent can click to call (click-to-dial)."""
    return {"number": number or "", "shown": phone_display(number or "")}
