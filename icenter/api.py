"""Shared REST API pieces: role permission, pagination and the one error shape."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from icenter import errors, roles

logger = logging.getLogger(__name__)


class HasStaffRole(BasePermission):
    """Agents, supervisors and managers may read and write; only managers delete."""

    message = "You need the agent, supervisor or manager role for the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS or request.method != "DELETE":
            return roles.user_has_role(request.user, *roles.ALL)
        return roles.user_has_role(request.user, roles.MANAGER)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _flatten_detail(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_detail(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        text = _flatten_detail(value)
        return text if key == "non_field_errors" else f"{key}: {text}"
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every API error as {"message": ..., "extra": {...}}."""
    if isinstance(exc, errors.NotFound):
        return Response({"message": exc.message, "extra": exc.extra}, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, errors.PermissionDenied):
        return Response({"message": exc.message, "extra": exc.extra}, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, errors.DomainError):
        return Response({"message": exc.message, "extra": exc.extra}, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # Imported here: rest_framework.views reads this module's classes from the settings.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        extra = {"fields": detail}
        message = _("Invalid input. %(detail)s") % {"detail": _flatten_detail(detail)}
    elif isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
    else:
        message = _flatten_detail(detail)
    response.data = {"message": message, "extra": extra}
    return response
