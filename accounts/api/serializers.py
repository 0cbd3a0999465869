"""Output shapes of the accounts API; several endpoints share each.

Each viewset nests its own input serializers.
"""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Account, Address, Contact, ContactPoint, CustomerGroup, Interaction

# The "kind" fields of accounts, contact points and addresses each become one named enum
# in the schema through ENUM_NAME_OVERRIDES (SPECTACULAR_SETTINGS).


class AccountSummarySerializer(serializers.ModelSerializer):
    customer_group: serializers.SlugRelatedField[CustomerGroup] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Account
        ref_name = "AccountSummary"
        fields = [
            "id",
            "kind",
            "customer_number",
            "name",
            "first_name",
            "last_name",
            "is_vip",
            "customer_group",
            "assigned_agent",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"kind": {"read_only": True}}


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        ref_name = "ContactPoint"
        fields = [
            "id",
            "account",
            "contact",
            "kind",
            "value",
            "normalized",
            "label",
            "is_switchboard",
        ]
        extra_kwargs = {"kind": {"read_only": True}}


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        ref_name = "Address"
        fields = ["id", "kind", "street", "postcode", "city", "country"]
        extra_kwargs = {"kind": {"read_only": True}}


class ContactSerializer(serializers.ModelSerializer):
    contact_points = ContactPointSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        ref_name = "Contact"
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "full_name",
            "position",
            "is_primary",
            "contact_points",
        ]


class AccountContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        ref_name = "AccountContact"
        fields = ["id", "first_name", "last_name", "full_name", "position", "is_primary"]


class AccountDetailSerializer(AccountSummarySerializer):
    contacts = AccountContactSerializer(many=True, read_only=True)
    contact_points = ContactPointSerializer(many=True, read_only=True)
    addresses = AddressSerializer(many=True, read_only=True)

    class Meta(AccountSummarySerializer.Meta):
        ref_name = "AccountDetail"
        fields = [
            *AccountSummarySerializer.Meta.fields,
            "notes",
            "version",
            "contacts",
            "contact_points",
            "addresses",
        ]


class InteractionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Interaction
        ref_name = "Interaction"
        fields = [
            "id",
            "channel",
            "direction",
            "account",
            "contact",
            "agent",
            "address",
            "subject",
            "started_at",
            "ended_at",
            "duration_seconds",
            "outcome",
            "notes",
            "notes_updated_at",
        ]


class IdentifiedNumberSerializer(serializers.Serializer):
    raw = serializers.CharField(help_text="The number as it was given.")
    e164 = serializers.CharField(help_text="Empty when withheld or not a valid number.")
    is_withheld = serializers.BooleanField()
    error = serializers.CharField(help_text="Why the number could not be read, or empty.")

    class Meta:
        ref_name = "IdentifiedNumber"
