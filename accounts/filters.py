"""Query-string filters of the accounts API (django-filter) and a stable ordering filter."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from accounts.models import Account, Contact, ContactPoint, CustomerGroup, Interaction
from accounts.selectors import account_ids_search

# The most accounts a `q` search narrows a list to: the first ones by name.
SEARCH_LIMIT = 200


class StableOrderingFilter(OrderingFilter):
    """OrderingFilter that breaks ties by id, so pages never repeat or skip a row."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering or any(term.lstrip("-") in ("id", "pk") for term in ordering):
            return ordering
        return [*ordering, "-id" if ordering[0].startswith("-") else "id"]


class AccountFilter(filters.FilterSet):
    q = filters.CharFilter(
        method="filter_q",
        label="Search text: name, customer number, city, contact's last name, phone or email.",
    )
    customer_group = filters.ModelChoiceFilter(
        queryset=CustomerGroup.objects.all(),
        to_field_name="code",
        label="Customer group code.",
    )

    class Meta:
        model = Account
        fields = ["customer_number", "is_vip", "kind", "customer_group"]

    def filter_q(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        user = getattr(self.request, "user", None)
        ids = account_ids_search(query=value, limit=SEARCH_LIMIT, user=user)
        return queryset.filter(pk__in=ids)


class ContactFilter(filters.FilterSet):
    class Meta:
        model = Contact
        fields = ["account"]


class ContactPointFilter(filters.FilterSet):
    class Meta:
        model = ContactPoint
        fields = ["account", "contact", "kind"]


class InteractionFilter(filters.FilterSet):
    agent = filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    started_after = filters.IsoDateTimeFilter(
        field_name="started_at",
        lookup_expr="gte",
        label="Only interactions that started at or after this time (ISO 8601).",
    )
    started_before = filters.IsoDateTimeFilter(
        field_name="started_at",
        lookup_expr="lt",
        label="Only interactions that started before this time (ISO 8601).",
    )

    q = filters.CharFilter(
        method="filter_q", label="Words that must all occur in subject, notes or address."
    )

    class Meta:
        model = Interaction
        fields = ["account", "contact", "channel", "direction", "agent", "outcome"]

    def filter_q(
        self, queryset: QuerySet[Interaction], name: str, value: str
    ) -> QuerySet[Interaction]:
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(subject__icontains=word) | Q(notes__icontains=word) | Q(address__icontains=word)
            )
        return queryset
