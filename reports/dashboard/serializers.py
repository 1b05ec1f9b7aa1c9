"""The dashboard API's shapes: the query (read by the page's own form, documented here) and the
figures. The funnel's and velocity's rows are the funnel API's own."""

from rest_framework import serializers

from leads.models import Channel
from reports.dashboard.forms import CUSTOM, MONTH, PERIODS, QUARTER
from reports.funnel.serializers import FunnelCohortOut, FunnelEntriesOut, VelocityRowOut
from reports.serializers import MonthOut

MONEY = {"max_digits": 16, "decimal_places": 2}


class DashboardQueryIn(serializers.Serializer):
    """The page's query string: a period and the filters (every one optional)."""

    period = serializers.ChoiceField(
        choices=[name for name, _ in PERIODS],
        default=MONTH,
        help_text=f"{MONTH}: `month`; {QUARTER}: `quarter`; {CUSTOM}: `start` to `end`, both days included.",
    )
    month = serializers.CharField(
        required=False, help_text="YYYY-MM, one of the last 36 months; this month by default."
    )
    quarter = serializers.CharField(
        required=False, help_text="YYYY-Qn, one of the last 12 quarters; this one by default."
    )
    start = serializers.DateField(required=False, help_text="With period=custom: the first day.")
    end = serializers.DateField(required=False, help_text="With period=custom: the last day (at most two years on).")
    campaign = serializers.IntegerField(required=False, help_text="A campaign's id: leads whose first touch it was.")
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, help_text="Their first campaign's channel."
    )
    persona = serializers.IntegerField(required=False, help_text="A persona's id: leads it matches best.")
    version = serializers.IntegerField(required=False, help_text="A definition version: leads it last qualified.")


class DashboardMonthOut(serializers.Serializer):
    month = MonthOut()
    mql_delivered = serializers.IntegerField(help_text="Leads that moved into MQL in the month.")
    mql_target = serializers.IntegerField(help_text="Marketing's target under the month's agreement.")
    handed_off = serializers.IntegerField(help_text="Leads handed to sales in the month.")
    accepted = serializers.IntegerField(help_text="Of those, the ones sales accepted (moved to opportunity).")
    decided = serializers.IntegerField(help_text="Of those, the ones touched or past their first-touch deadline.")
    in_time = serializers.IntegerField(help_text="Of those, the ones first touched by the deadline.")
    touched_in_time_pct = serializers.FloatField(allow_null=True, help_text="in_time ÷ decided, in percent.")
    first_touch_target_pct = serializers.IntegerField()
    won = serializers.IntegerField(help_text="Of the month's handoffs, the ones sales has won so far.")
    close_rate_pct = serializers.FloatField(allow_null=True, help_text="won ÷ handed_off, in percent.")
    close_target_pct = serializers.FloatField(help_text="The agreed close rate (5 of every 20 is 25).")
    won_revenue = serializers.DecimalField(**MONEY, help_text="The amount of the won deals of those leads.")


class DashboardPipelineStageOut(serializers.Serializer):
    stage = serializers.CharField()
    deals = serializers.IntegerField()
    amount = serializers.DecimalField(**MONEY)


class DashboardDealsOut(serializers.Serializer):
    won = serializers.IntegerField(help_text="Deals won in the period.")
    lost = serializers.IntegerField(help_text="Deals lost in the period.")
    won_revenue = serializers.DecimalField(**MONEY)
    win_rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True, help_text="In percent.")


class DashboardReasonOut(serializers.Serializer):
    reason = serializers.CharField()
    verdict = serializers.CharField(help_text="rejected or recycled")
    leads = serializers.IntegerField()
    share = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, help_text="Of every verdict in the period, in percent."
    )


class DashboardOut(serializers.Serializer):
    start = serializers.DateField(help_text="The period's first day.")
    end = serializers.DateField(help_text="The period's last day, included.")
    agreement = DashboardMonthOut(many=True, help_text="The twelve months to the period's last, whole teams.")
    cohorts = FunnelCohortOut(many=True)
    entries = FunnelEntriesOut(many=True)
    velocity = VelocityRowOut(many=True)
    pipeline = DashboardPipelineStageOut(many=True, help_text="Open deals now, per open stage.")
    deals = DashboardDealsOut()
    verdicts = serializers.IntegerField(help_text="Sales' verdicts in the period (accepted, rejected, recycled).")
    reasons = DashboardReasonOut(many=True, help_text="The top rejection and recycle reasons.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        return fields
