"""The agreement API's shapes: a month's terms, its attainment both ways, and the terms a
manager sets.
"""

from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import Agreement, Stage


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-03"})
class MonthOut(serializers.DateField):
    """A month given out as "YYYY-MM" (a date's format would promise a day)."""

    def to_representation(self, value: date) -> str:
        # strftime's %Y leaves a year before 1000 unpadded ("30-03"), which no longer reads as a month.
        return f"{value.year:04d}-{value.month:02d}"


class AgreementTermsOut(serializers.ModelSerializer):
    month = MonthOut()
    saved = serializers.SerializerMethodField(help_text="False: no agreement set yet, these are the defaults.")

    class Meta:
        model = Agreement
        fields = [
            "month",
            "mql_target",
            "close_quota",
            "close_per",
            "speed_to_lead_hours",
            "reassign_after_hours",
            "first_touch_target_pct",
            "handoff_stage",
            "saved",
        ]

    def get_saved(self, agreement: Agreement) -> bool:
        return agreement.pk is not None


class CohortOut(serializers.Serializer):
    month = MonthOut()
    handed_off = serializers.IntegerField()
    won = serializers.IntegerField()
    won_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    close_rate_pct = serializers.FloatField(allow_null=True)


class AttainmentOut(serializers.Serializer):
    month = MonthOut()
    mql_delivered = serializers.IntegerField()
    mql_target = serializers.IntegerField()
    mql_pct = serializers.IntegerField(allow_null=True)
    mql_on_pace = serializers.IntegerField()
    handed_off = serializers.IntegerField(help_text="Leads handed to sales in the month.")
    won = serializers.IntegerField(help_text="Of those, how many sales has won so far.")
    won_revenue = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Won from those leads.")
    close_rate_pct = serializers.FloatField(allow_null=True, help_text="won ÷ handed off; null before any handoff.")
    close_quota = serializers.IntegerField()
    close_per = serializers.IntegerField()
    close_target_pct = serializers.FloatField(help_text="The agreed rate: close_quota ÷ close_per.")
    previous = CohortOut(help_text="Last month's handoff cohort, which has had time to close.")
    handoffs = serializers.IntegerField()
    decided = serializers.IntegerField()
    in_time = serializers.IntegerField()
    touched_in_time_pct = serializers.IntegerField(allow_null=True)
    first_touch_target_pct = serializers.IntegerField()


class AgreementOut(serializers.Serializer):
    agreement = AgreementTermsOut()
    attainment = AttainmentOut()


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "example": "2026-03"})
class MonthField(serializers.DateField):
    """A month as "YYYY-MM" (a full date is accepted and means its month)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=["%Y-%m", "iso-8601"], format="%Y-%m", **kwargs)


class AgreementQueryIn(serializers.Serializer):
    month = MonthField(required=False, help_text="YYYY-MM; this month when left out.")


class AgreementIn(serializers.Serializer):
    month = MonthField(help_text="YYYY-MM: this month or a later one.")
    mql_target = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    close_quota = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    close_per = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    speed_to_lead_hours = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False)
    reassign_after_hours = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False)
    first_touch_target_pct = serializers.IntegerField(min_value=0, max_value=100, required=False)
    handoff_stage = serializers.ChoiceField(choices=[Stage.MQL.value, Stage.SQL.value], required=False)
