"""The funnel and velocity APIs' shapes: the query (a period, and for the funnel cohorts or
entries) and their rows. The period is read as the ROI report reads it."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import Stage
from reports.attribution.serializers import RoiQueryIn
from reports.funnel.selectors import BY_COHORT, BY_PERIOD, GROUPINGS, CohortRow
from reports.serializers import MonthOut


class VelocityQueryIn(RoiQueryIn):
    """`from`/`to` (both, `to` included) or `period`; this month when neither is given."""

    model = None
    by = None


class FunnelQueryIn(VelocityQueryIn):
    by = serializers.ChoiceField(
        choices=list(GROUPINGS),
        default=BY_COHORT,
        help_text="cohort: the period's new leads per month of creation, and how far they got; "
        "period: first entries into each stage during the period.",
    )


class FunnelCohortStageOut(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    reached = serializers.IntegerField(help_text="Leads of the cohort whose furthest forward stage is this or beyond.")
    rate_to_next = serializers.DecimalField(
        max_digits=8, decimal_places=4, allow_null=True, help_text="The next stage's count ÷ this one's; null on 0."
    )


class FunnelCohortOut(serializers.Serializer):
    month = MonthOut(help_text="The month the leads were created in.")
    leads = serializers.IntegerField(help_text="Leads created in the month (within the period).")
    stages = serializers.SerializerMethodField(help_text="A row per stage of the forward path, in order.")

    @extend_schema_field(FunnelCohortStageOut(many=True))
    def get_stages(self, row: CohortRow) -> list[dict[str, Any]]:
        cells = [{"stage": stage, "reached": count, "rate_to_next": rate} for stage, count, rate in row.cells]
        return FunnelCohortStageOut(cells, many=True).data


class FunnelEntriesOut(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    entries = serializers.IntegerField(help_text="Leads whose first ever entry into the stage is in the period.")
    rate_to_next = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="The next stage's entries ÷ these; null on 0."
    )


class FunnelOut(serializers.Serializer):
    by = serializers.ChoiceField(choices=[BY_COHORT, BY_PERIOD])
    start = serializers.DateField(help_text="The first day.")
    end = serializers.DateField(help_text="The last day, included.")
    cohorts = FunnelCohortOut(many=True, required=False, help_text="With by=cohort: a row per month of creation.")
    entries = FunnelEntriesOut(many=True, required=False, help_text="With by=period: a row per stage.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        return fields


class VelocityRowOut(serializers.Serializer):
    from_stage = serializers.CharField(help_text="A stage of the forward path (one of `stage`'s values).")
    to_stage = serializers.CharField(help_text="The stage right after from_stage.")
    moves = serializers.IntegerField(help_text="Moves from from_stage to to_stage made in the period.")
    median_days = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        allow_null=True,
        help_text="Median days from entering from_stage to the move; null with no move.",
    )


class VelocityOut(serializers.Serializer):
    start = serializers.DateField(help_text="The first day.")
    end = serializers.DateField(help_text="The last day, included.")
    rows = VelocityRowOut(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        return fields
