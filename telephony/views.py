"""The CTI ingress: where a PBX (or the simulator's command line) posts call events.

Authenticated by a bearer token (ICENTER_CTI_TOKEN) and limited to the networks
in ICENTER_CTI_ALLOWED_NETWORKS (loopback by default).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from icenter.errors import DomainError
from telephony import services
from telephony.cti.base import CallEvent, CtiError, get_adapter

logger = logging.getLogger(__name__)
MAX_BODY = 16 * 1024


def _error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"message": message, "extra": extra}, status=status)


def _refusal(request: HttpRequest) -> JsonResponse | None:
    address = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
        networks = [
            ipaddress.ip_network(n, strict=False) for n in settings.ICENTER_CTI_ALLOWED_NETWORKS
        ]
    except ValueError:
        ip, networks = None, []
    if ip is None or not any(ip in network for network in networks):
        logger.warning("CTI request from %s refused: address not allowed", address)
        return _error("address not allowed", 403)
    token = settings.ICENTER_CTI_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        logger.warning("CTI request from %s refused: bad token", address)
        return _error("missing or wrong bearer token", 401)
    return None


def _json_body(request: HttpRequest) -> Any:
    if len(request.body) > MAX_BODY:
        raise CtiError(f"body larger than {MAX_BODY} bytes")
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CtiError(f"body is not valid JSON: {exc}") from None


@csrf_exempt
@require_POST
def cti_event(request: HttpRequest) -> JsonResponse:
    """Take one CallEvent as JSON ({"kind", "call_id", "ani", "dnis", "agent", ...})."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    try:
        event = CallEvent.from_dict(_json_body(request))
    except CtiError as exc:
        logger.warning("bad CTI event: %s", exc.message)
        return _error(exc.message, 400)
    call = services.call_event_handle(event=event)
    return JsonResponse(_call_summary(call))


@csrf_exempt
@require_POST
def kamailio_route(request: HttpRequest) -> JsonResponse:
    """Kamailio asks which extension rings for a queue call; answers ring / wait / closed.

    Any answer but 200 makes Kamailio ring its configured fallback extension.
    """
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    from telephony.cti.kamailio import RouteRequest

    try:
        question = RouteRequest.from_dict(_json_body(request))
    except CtiError as exc:
        logger.warning("bad Kamailio route request: %s", exc.message)
        return _error(exc.message, 400)
    try:
        decision = services.call_route(
            call_id=question.call_id, ani=question.ani, dnis=question.dnis
        )
    except DomainError as exc:
        logger.error("no route for call %s: %s", question.call_id, exc.message)
        return _error(exc.message, 503)
    return JsonResponse(
        {
            "action": decision.action,
            "extension": decision.extension,
            "announcement": decision.announcement,
            "position": decision.position,
            "media": decision.media,
            "call_id": question.call_id,
        }
    )


@csrf_exempt
@require_POST
def kamailio_event(request: HttpRequest) -> JsonResponse:
    """Kamailio reports a call event (a CallEvent as JSON) or its own start (`pbx_started`)."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    from telephony.cti.kamailio import PBX_STARTED, calls_lost_at_restart

    try:
        data = _json_body(request)
        if isinstance(data, dict) and data.get("kind") == PBX_STARTED:
            logger.warning("Kamailio (re)started: ending calls it was holding")
            return JsonResponse({"ended": calls_lost_at_restart()})
        event = CallEvent.from_dict(data)
    except CtiError as exc:
        logger.warning("bad Kamailio event: %s", exc.message)
        return _error(exc.message, 400)
    call = services.call_event_handle(event=event)
    return JsonResponse(_call_summary(call))


@csrf_exempt
@require_POST
def simulator_call(request: HttpRequest) -> JsonResponse:
    """Simulated PBX: a customer calls (`{"ani", "dnis", "agent"?}`) or hangs up (`{"hangup"}`)."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    if settings.ICENTER_CTI != "simulator":
        return _error("the simulated PBX is not the configured adapter", 409)
    try:
        data = _json_body(request)
        if not isinstance(data, dict):
            raise CtiError("body must be a JSON object")
        adapter = get_adapter()
        if data.get("hangup"):
            adapter.customer_hangs_up(call_id=str(data["hangup"]))  # type: ignore[attr-defined]
            call_id = str(data["hangup"])
        else:
            ani, dnis, agent = (str(data.get(k) or "")[:200] for k in ("ani", "dnis", "agent"))
            if not dnis:
                raise CtiError("dnis (the dialled number) is required")
            call_id = adapter.place_inbound_call(ani=ani, dnis=dnis, agent=agent)  # type: ignore[attr-defined]
    except CtiError as exc:
        return _error(exc.message, 400)
    from telephony.models import Call

    return JsonResponse(
        _call_summary(Call.objects.filter(call_id=call_id).select_related("agent").first())
    )


def _call_summary(call: Any) -> dict[str, Any]:
    if call is None:
        return {"call_id": None, "status": None, "agent": None}
    return {
        "call_id": call.call_id,
        "status": call.status,
        "agent": call.agent.extension if call.agent_id else None,
        "interaction": call.interaction_id,
    }
