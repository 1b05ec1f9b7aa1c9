from rest_framework import serializers

from playbooks.models import LeadList, ListMembership

# Enough for one request; bigger sets go in several (each is one statement per 10,000 ids).
MEMBERS_MAX = 10_000
# Playbooks and stage policies add through the services; the API adds by hand or by import.
ADDED_FROM_OUTSIDE = {ListMembership.Source.MANUAL, ListMembership.Source.IMPORT}


class LeadListIn(serializers.Serializer):
    """Shapes only; the rules (unique name, a valid tree for a segment, none for a static
    list, kind fixed once there are members) are the service's."""

    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    kind = serializers.ChoiceField(choices=LeadList.Kind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)
    condition = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="A segment's rule tree (the qualification tree's shape); empty or null for a static list.",
    )


class LeadListOut(serializers.ModelSerializer):
    member_count = serializers.SerializerMethodField(help_text="Leads on the list now (a segment: matching now).")

    class Meta:
        model = LeadList
        fields = ["id", "name", "kind", "description", "condition", "member_count", "created_at", "updated_at"]

    def get_member_count(self, lead_list: LeadList) -> int:
        return self.context["counts"][lead_list.pk]


class MembersIn(serializers.Serializer):
    """Leads named by id or by email address (one of the two)."""

    lead_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=MEMBERS_MAX, allow_empty=False
    )
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=MEMBERS_MAX, allow_empty=False
    )
    source = serializers.ChoiceField(
        choices=[(value, label) for value, label in ListMembership.Source.choices if value in ADDED_FROM_OUTSIDE],
        default=ListMembership.Source.MANUAL,
        help_text="How the leads were added, as the list shows it (adding only).",
    )

    def validate(self, data: dict) -> dict:
        if not data.get("lead_ids") and not data.get("emails"):
            raise serializers.ValidationError({"lead_ids": ["Name the leads: give lead_ids or emails."]})
        if data.get("lead_ids") and data.get("emails"):
            raise serializers.ValidationError({"emails": ["Give lead_ids or emails, not both."]})
        return data


class MemberOut(serializers.Serializer):
    """A lead on the list; on a static list, when and how it was added (null for a segment)."""

    id = serializers.IntegerField(source="lead_id")
    email = serializers.EmailField()
    added_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    source = serializers.ChoiceField(
        choices=ListMembership.Source.choices, required=False, allow_null=True, default=None
    )


class MembersAddedOut(serializers.Serializer):
    added = serializers.IntegerField()
    already = serializers.IntegerField(help_text="On the list before.")
    unknown = serializers.ListField(
        child=serializers.JSONField(), help_text="The ids or addresses, as given, that are no lead (none is created)."
    )


class MembersRemovedOut(serializers.Serializer):
    removed = serializers.IntegerField(help_text="Were on the list and are no longer.")
    unknown = serializers.ListField(child=serializers.JSONField(), help_text="The ids or addresses that are no lead.")
