"""The ROI API's shapes: the query (model, period, grouping) and the rows with their totals."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from reports.attribution.credits import LINEAR, MODELS
from reports.attribution.selectors import BY_CAMPAIGN, BY_VERSION, GROUPINGS, Row
from reports.serializers import MonthField
from smarketing.lib.periods import month_bounds, month_first, next_month

LONGEST_RANGE_DAYS = 3 * 366


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class RoiQueryIn(serializers.Serializer):
    """`from`/`to` (both, `to` included) or `period`; this month when neither is given."""

    model = serializers.ChoiceField(choices=list(MODELS), default=LINEAR, help_text="The attribution model.")
    by = serializers.ChoiceField(
        choices=list(GROUPINGS),
        default=BY_CAMPAIGN,
        help_text=(
            "Rows per campaign, per channel, or per definition version: the version under which each "
            'lead last qualified ("(not qualified by a definition)" for the others).'
        ),
    )
    start = serializers.DateField(required=False, help_text="YYYY-MM-DD, the first day (with `to`).")
    end = serializers.DateField(required=False, help_text="YYYY-MM-DD, the last day, included (with `from`).")
    period = MonthField(required=False, help_text="YYYY-MM: a whole month, instead of `from` and `to`.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        first, last, period = data.get("from"), data.get("to"), data.get("period")
        if period and (first or last):
            raise serializers.ValidationError({"period": ["Give either a period or from and to, not both."]})
        if (first is None) != (last is None):
            missing = "to" if last is None else "from"
            raise serializers.ValidationError({missing: ["Give both from and to (or a period)."]})
        if first and last:
            if last < first:
                raise serializers.ValidationError({"to": ["The last day cannot come before the first."]})
            if (last - first).days > LONGEST_RANGE_DAYS:
                raise serializers.ValidationError({"to": ["At most three years at a time."]})
            data["start"], data["end"] = local_midnight(first), local_midnight(last + timedelta(days=1))
        else:
            month = month_first(period) if period else month_first()
            data["start"], data["end"] = month_bounds(month)
            data["from"], data["to"] = month, next_month(month) - timedelta(days=1)
        return data


class RoiRowOut(serializers.Serializer):
    label = serializers.CharField(
        help_text='The campaign\'s name, the channel, "Version N · name", "(no campaign)", '
        '"(not qualified by a definition)" or "Total".'
    )
    campaign_id = serializers.SerializerMethodField(help_text="Per campaign; null for (no campaign) and the totals.")
    version = serializers.SerializerMethodField(
        help_text="Per definition version; null for leads not qualified by a definition and the totals."
    )
    channel = serializers.CharField(help_text="The channel's value; empty for (no campaign), versions and the totals.")
    spend = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Costs dated in the period (campaigns' only: 0 per version)."
    )
    leads = serializers.IntegerField(help_text="Leads created in the period whose first campaign (or version) it is.")
    mqls = serializers.IntegerField(help_text="Of the row's leads, first entries into MQL in the period.")
    sqls = serializers.IntegerField(help_text="First entries into SQL in the period.")
    opportunities = serializers.IntegerField(help_text="First entries into opportunity in the period.")
    customers = serializers.IntegerField(help_text="First entries into customer in the period.")
    won_deals = serializers.IntegerField(help_text="Deals won in the period that credit this row anything.")
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Attributed won revenue.")
    roi = serializers.DecimalField(
        max_digits=20, decimal_places=4, allow_null=True, help_text="(revenue − spend) ÷ spend; null with no spend."
    )
    cost_per_lead = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    cost_per_mql = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    cost_per_sql = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    cost_per_customer = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)

    def get_campaign_id(self, row: Row) -> int | None:
        return row.key if self.context.get("by", BY_CAMPAIGN) == BY_CAMPAIGN and isinstance(row.key, int) else None

    def get_version(self, row: Row) -> int | None:
        return row.key if self.context.get("by") == BY_VERSION and isinstance(row.key, int) else None


class RoiOut(serializers.Serializer):
    model = serializers.ChoiceField(choices=list(MODELS))
    by = serializers.ChoiceField(choices=list(GROUPINGS))
    start = serializers.DateField(help_text="The first day.")
    end = serializers.DateField(help_text="The last day, included.")
    currency = serializers.CharField()
    rows = RoiRowOut(many=True)
    totals = RoiRowOut()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        return fields
