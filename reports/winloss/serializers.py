"""The win/loss API's shapes: the query (period, grouping) and both parts of the report."""

from rest_framework import serializers

from reports.attribution.serializers import RoiQueryIn
from reports.winloss.selectors import BY_SOURCE, GROUPINGS


class WinLossQueryIn(RoiQueryIn):
    """`from`/`to` (both, `to` included) or `period`; this month when neither is given."""

    model = None  # the ROI's attribution model has no place here
    by = serializers.ChoiceField(
        choices=list(GROUPINGS),
        default=BY_SOURCE,
        help_text="Group deals and verdicts per rep, source, persona, campaign (first) or definition version.",
    )


class ReasonShareOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["lost", "rejected", "recycled"])
    label = serializers.CharField(help_text="The reason as the managed list names it.")
    count = serializers.IntegerField()
    share = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, help_text="Of the row's closed deals (or decisions), in %."
    )


class DealRowOut(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The group's id or value; null for the “(no …)” row.")
    label = serializers.CharField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    won_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    win_rate = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, help_text="won ÷ (won + lost), in %."
    )
    reasons = ReasonShareOut(many=True, help_text="The lost deals per lost reason.")


class DecisionRowOut(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The group's id or value; null for the “(no …)” row.")
    label = serializers.CharField()
    decided = serializers.IntegerField(help_text="Verdicts in the period: accepted, rejected and recycled.")
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    recycled = serializers.IntegerField()
    reasons = ReasonShareOut(many=True, help_text="Rejections and recycles per reason, each a share of `decided`.")


class FindingOut(serializers.Serializer):
    rule = serializers.CharField()
    kind = serializers.ChoiceField(choices=["rejected", "recycled"])
    reason = serializers.CharField()
    count = serializers.IntegerField()
    decided = serializers.IntegerField()
    share = serializers.DecimalField(max_digits=5, decimal_places=1)
    sentence = serializers.CharField()


class DealsOut(serializers.Serializer):
    rows = DealRowOut(many=True)
    totals = DealRowOut()


class DecisionsOut(serializers.Serializer):
    rows = DecisionRowOut(many=True, help_text="Per `by`.")
    totals = DecisionRowOut()
    reasons = DecisionRowOut(many=True, help_text="Per reason (acceptances on one row).")
    rules = DecisionRowOut(
        many=True, help_text="Per qualifying rule: a lead qualified by two rules counts on both rows."
    )
    findings = FindingOut(many=True, help_text="The rules' largest reason shares, as sentences.")


class WinLossOut(serializers.Serializer):
    by = serializers.ChoiceField(choices=list(GROUPINGS))
    start = serializers.DateField(help_text="The first day.")
    end = serializers.DateField(help_text="The last day, included.")
    currency = serializers.CharField()
    deals = DealsOut()
    rejections = DecisionsOut()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        return fields
