"""REST API for accounts, contacts, contact points and interactions."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from accounts.models import Account, Contact, ContactPoint, Interaction


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "kind", "customer_number", "name", "is_vip"]


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Account.objects.all()
    serializer_class = AccountSerializer


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "account", "first_name", "last_name"]


class ContactViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        fields = ["id", "account", "kind", "value", "normalized"]


class ContactPointViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ContactPoint.objects.all()
    serializer_class = ContactPointSerializer


class InteractionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Interaction
        fields = ["id", "channel", "direction", "account", "started_at", "ended_at"]


class InteractionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Interaction.objects.all()
    serializer_class = InteractionSerializer
