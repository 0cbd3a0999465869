"""Template helpers for the customer-service panels."""

from __future__ import annotations

from typing import Any

from django import template

from accounts import selectors
from accounts.models import Interaction, MessageTemplate, Ticket

register = template.Library()


@register.simple_tag
def ticket_types() -> list[tuple[str, Any]]:
    return list(Ticket.Type.choices)


@register.simple_tag
def ticket_priorities() -> list[tuple[str, Any]]:
    return list(Ticket.Priority.choices)


@register.simple_tag
def interaction_channels() -> list[tuple[str, Any]]:
    return list(Interaction.Channel.choices)


@register.simple_tag
def interaction_directions() -> list[tuple[str, Any]]:
    return list(Interaction.Direction.choices)


@register.simple_tag
def message_templates() -> dict[str, list[MessageTemplate]]:
    """Active templates by channel (one query)."""
    by_channel: dict[str, list[MessageTemplate]] = {"sms": [], "email": []}
    for item in MessageTemplate.objects.filter(is_active=True).order_by("name"):
        by_channel.setdefault(item.channel, []).append(item)
    return by_channel


@register.simple_tag
def account_callbacks(account_id: int) -> list[Any]:
    return selectors.callback_list_for_account(account_id=account_id)


@register.simple_tag
def agent_groups_of(agent: Any) -> list[Any]:
    return list(agent.groups.order_by("name")) if agent is not None else []


@register.simple_tag
def outreach_channels() -> list[tuple[str, Any]]:
    return list(MessageTemplate.Channel.choices)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, []) if isinstance(mapping, dict) else []
