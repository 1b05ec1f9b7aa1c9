"""A lead as the API shows it, in one shape wherever a lead appears (lists, a lead's page, the
queue). The reasons behind a lead's score and stage are read by the view and passed in: a
serializer only shapes what it is given.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import Lead, StageChange


class UserRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class NamedRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LeadOut(serializers.ModelSerializer):
    """A lead, wherever one appears: the lead list, a rep's queue, a deal, a verdict's reply."""

    owner = UserRefOut(allow_null=True)
    score = serializers.IntegerField(read_only=True, help_text="Fit plus engagement.")
    fit_score = serializers.IntegerField(read_only=True, help_text="Best persona match, 0-100.")
    engagement_score = serializers.IntegerField(read_only=True)
    persona = NamedRefOut(allow_null=True)
    campaign = NamedRefOut(source="first_campaign", allow_null=True, help_text="First-touch campaign.")

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "company",
            "title",
            "industry",
            "company_size",
            "country",
            "phone",
            "stage",
            "owner",
            "score",
            "fit_score",
            "engagement_score",
            "persona",
            "source",
            "campaign",
            "consent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ScoreRowOut(serializers.Serializer):
    rule = serializers.CharField()
    points = serializers.IntegerField()


class StageChangeOut(serializers.ModelSerializer):
    # Plain strings: the stage values are those of Lead.stage (one enum in the schema, not three).
    from_stage = serializers.CharField(help_text="Empty for the lead's first stage.")
    to_stage = serializers.CharField()
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = StageChange
        fields = [
            "from_stage",
            "to_stage",
            "changed_at",
            "source",
            "changed_by",
            "definition_version",
            "matched_rules",
            "reason",
            "note",
        ]
        read_only_fields = fields


class WhyQualifiedOut(serializers.Serializer):
    to = serializers.CharField(help_text="The stage the rules moved the lead to.")
    version = serializers.IntegerField(allow_null=True, help_text="Qualification definition version.")
    at = serializers.DateTimeField()
    rules = serializers.ListField(child=serializers.CharField(), help_text="The rules that held.")


class LeadDetailOut(LeadOut):
    """A lead with the reasons behind its score and stage (`lead_explained` reads them)."""

    last_campaign = NamedRefOut(allow_null=True)
    score_breakdown = ScoreRowOut(
        many=True, source="score_rows", help_text="Each rule's points; they sum to the score."
    )
    stage_history = serializers.SerializerMethodField(help_text="Newest first.")
    why_qualified = WhyQualifiedOut(many=True, source="qualified_by")

    class Meta(LeadOut.Meta):
        fields = [
            *LeadOut.Meta.fields,
            "phone",
            "website",
            "qualified_version",
            "consent_at",
            "unsubscribed_at",
            "first_touch",
            "last_source",
            "last_campaign",
            "last_touch",
            "last_touch_at",
            "stage_changed_at",
            "score_breakdown",
            "stage_history",
            "why_qualified",
        ]
        read_only_fields = fields

    @extend_schema_field(StageChangeOut(many=True))
    def get_stage_history(self, lead: Lead) -> list[dict[str, Any]]:
        changes = lead.stage_changes.select_related("changed_by").order_by("-changed_at", "-id")
        return StageChangeOut(changes, many=True).data
