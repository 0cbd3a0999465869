"""Write paths for reaching a customer again: callbacks, SMS and email.

A callback becomes a work item in telephony's universal queue (routable at its due time);
every SMS or email sent is an outbound interaction in the customer's history.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import messaging
from accounts.access import account_require_read
from accounts.models import Account, Contact, Interaction, MessageTemplate
from accounts.phone import phone_parse
from accounts.services.core import _require_staff, interaction_log
from accounts.sms import SmsError, SmsMessage, get_backend
from icenter.errors import DomainError
from telephony.models import Agent, AgentGroup, Queue, WorkItem

logger = logging.getLogger(__name__)

CALLBACK_MAX_WINDOW = timedelta(hours=12)
CALLBACK_DEFAULT_WINDOW = timedelta(hours=2)
CALLBACK_MAX_AHEAD = timedelta(days=90)
EMAIL_MAX_LENGTH = 20000


def _phone_or_error(number: str) -> str:
    parsed = phone_parse(number)
    if not parsed.is_valid:
        raise DomainError(
            _("“%(value)s” is not a valid phone number.") % {"value": number}, field="number"
        )
    return parsed.e164


@transaction.atomic
def callback_request(
    *,
    account: Account | None,
    number: str,
    reason: str,
    window_start: datetime,
    window_end: datetime | None,
    created_by: User,
    agent: Agent | None = None,
    group: AgentGroup | None = None,
    queue: Queue | None = None,
) -> WorkItem:
    """Schedule a callback in a time window; at its start it is routed to the agent (or their
    group, or a queue) like a call, through telephony's universal queue. Without an end the
    window is CALLBACK_DEFAULT_WINDOW long."""
    _require_staff(created_by, field="created_by")
    if account is not None:
        account_require_read(created_by, account)
    if window_end is None:
        window_end = window_start + CALLBACK_DEFAULT_WINDOW
    number = _phone_or_error(number)
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(_("Say why the customer wants a callback."), field="reason")
    now = timezone.now()
    if window_start < now - timedelta(minutes=1):
        raise DomainError(_("A callback cannot be scheduled in the past."), field="window_start")
    if window_end <= window_start:
        raise DomainError(_("The callback window ends before it starts."), field="window_end")
    if window_end - window_start > CALLBACK_MAX_WINDOW:
        raise DomainError(
            _("A callback window can be at most %(hours)d hours long.")
            % {"hours": CALLBACK_MAX_WINDOW.total_seconds() // 3600},
            field="window_end",
        )
    if window_start > now + CALLBACK_MAX_AHEAD:
        raise DomainError(
            _("A callback can be scheduled at most %(days)d days ahead.")
            % {"days": CALLBACK_MAX_AHEAD.days},
            field="window_start",
        )
    if agent is None and group is None and queue is None:
        raise DomainError(_("Choose who calls back: an agent, a group or a queue."), field="agent")
    from telephony import services as telephony_services

    return telephony_services.callback_schedule(
        number=number,
        reason=reason[:200],
        not_before=window_start,
        not_after=window_end,
        account=account,
        agent=agent,
        agent_group=group,
        queue=queue,
        created_by=created_by,
    )


def message_preview(
    *,
    template: MessageTemplate,
    account: Account | None,
    agent: User | None,
    contact: Contact | None = None,
    ticket: Any = None,
    appointment: Any = None,
) -> tuple[str, str]:
    """The template's subject and text with the customer's data filled in (for the agent to
    check and edit before sending)."""
    context = messaging.MessageContext(
        account=account, contact=contact, agent=agent, ticket=ticket, appointment=appointment
    )
    subject = " ".join(messaging.render_text(template.subject, context).split())
    return subject, messaging.render_text(template.body, context)


def _sms_sender() -> str:
    return str(getattr(settings, "ICENTER_SMS_SENDER", "") or "")


@transaction.atomic
def message_send_sms(
    *,
    to: str,
    text: str,
    agent: User | None,
    account: Account | None = None,
    contact: Contact | None = None,
    template: MessageTemplate | None = None,
) -> Interaction:
    """Send a text message through the configured gateway and record it in the history.

    Nothing is recorded when the gateway refuses: the agent keeps the text and sees why.
    """
    _require_staff(agent, field="agent")
    number = _phone_or_error(to)
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write a text first."), field="text")
    if len(text) > messaging.SMS_MAX_LENGTH:
        raise DomainError(
            _("An SMS can be at most %(max)d characters long.") % {"max": messaging.SMS_MAX_LENGTH},
            field="text",
        )
    now = timezone.now()
    interaction = interaction_log(
        channel=Interaction.Channel.SMS,
        direction=Interaction.Direction.OUTBOUND,
        started_at=now,
        ended_at=now,
        account=account,
        contact=contact,
        agent=agent,
        address=number,
        subject=template.name if template is not None else _("SMS"),
        notes=text,
    )
    try:
        message_id = get_backend().send(SmsMessage(to=number, text=text, sender=_sms_sender()))
    except SmsError as error:
        logger.warning("SMS to %s failed (permanent=%s): %s", number, error.permanent, error)
        if error.permanent:
            raise DomainError(
                _("The SMS gateway refused the message: %(reason)s") % {"reason": error.message},
                field="to",
            ) from error
        raise DomainError(
            _("The SMS gateway cannot be reached right now; try again in a moment."),
            field="to",
        ) from error
    logger.info("SMS %s sent to %s (interaction %s)", message_id, number, interaction.pk)
    return interaction


@transaction.atomic
def message_send_email(
    *,
    to: str,
    subject: str,
    text: str,
    agent: User | None,
    account: Account | None = None,
    contact: Contact | None = None,
    template: MessageTemplate | None = None,
) -> Interaction:
    """Send a plain-text email through Django's email backend and record it in the history."""
    _require_staff(agent, field="agent")
    address = (to or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise DomainError(
            _("“%(value)s” is not a valid email address.") % {"value": address}, field="to"
        ) from None
    subject = " ".join((subject or "").split())[:200]
    if not subject:
        raise DomainError(_("An email needs a subject."), field="subject")
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write a text first."), field="text")
    if len(text) > EMAIL_MAX_LENGTH:
        raise DomainError(
            _("An email can be at most %(max)d characters long.") % {"max": EMAIL_MAX_LENGTH},
            field="text",
        )
    now = timezone.now()
    interaction = interaction_log(
        channel=Interaction.Channel.EMAIL,
        direction=Interaction.Direction.OUTBOUND,
        started_at=now,
        ended_at=now,
        account=account,
        contact=contact,
        agent=agent,
        address=address,
        subject=subject,
        notes=text,
    )
    message = EmailMessage(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"X-Icenter-Interaction": str(interaction.pk)},
    )
    try:
        message.send(fail_silently=False)
    except (OSError, ValueError) as error:
        logger.warning("email to %s failed: %s", address, error)
        raise DomainError(
            _("The email could not be sent: %(reason)s") % {"reason": error}, field="to"
        ) from error
    return interaction
