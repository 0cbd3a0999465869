"""REST API for accounts, contacts, contact points and interactions (/api/v1/).

One module per resource; each viewset parses input with its nested input serializers,
calls one service or selector and renders a shape from serializers.py. Every write goes
through accounts.services.
"""

from accounts.api.accounts import AccountViewSet
from accounts.api.appointments import AppointmentViewSet
from accounts.api.contacts import ContactPointViewSet, ContactViewSet
from accounts.api.interactions import InteractionViewSet
from accounts.api.tickets import TicketCategoryViewSet, TicketViewSet

__all__ = [
    "AccountViewSet",
    "AppointmentViewSet",
    "ContactPointViewSet",
    "ContactViewSet",
    "InteractionViewSet",
    "TicketCategoryViewSet",
    "TicketViewSet",
]
