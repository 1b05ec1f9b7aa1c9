"""The meeting packs API's shapes: a week's pack in the list, and the whole pack with its figures."""

from rest_framework import serializers

MONEY = {"max_digits": 16, "decimal_places": 2}
PCT = {"max_digits": 7, "decimal_places": 1, "allow_null": True}


class PackAgreementWeekOut(serializers.Serializer):
    handed_off = serializers.IntegerField(help_text="Leads handed to sales in the week.")
    won = serializers.IntegerField(help_text="Of those, won so far.")
    won_revenue = serializers.DecimalField(**MONEY)
    close_rate_pct = serializers.DecimalField(**PCT)
    handoffs = serializers.IntegerField()
    decided = serializers.IntegerField(help_text="Handoffs first touched or past their deadline.")
    in_time = serializers.IntegerField()
    touched_in_time_pct = serializers.IntegerField(allow_null=True)


class PackAgreementOut(PackAgreementWeekOut):
    month = serializers.DateField(help_text="The month of the week's Sunday, to date as the week ended.")
    mql_delivered = serializers.IntegerField()
    mql_target = serializers.IntegerField()
    mql_pct = serializers.IntegerField(allow_null=True)
    mql_on_pace = serializers.IntegerField()
    close_quota = serializers.IntegerField()
    close_per = serializers.IntegerField()
    close_target_pct = serializers.DecimalField(**PCT)
    first_touch_target_pct = serializers.IntegerField()
    week = PackAgreementWeekOut(help_text="The week's own handoff cohort and first touches.")


class PackDealsRowOut(serializers.Serializer):
    label = serializers.CharField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    win_rate = serializers.DecimalField(**PCT)
    won_revenue = serializers.DecimalField(**MONEY)


class PackLostReasonOut(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.DecimalField(**PCT)


class PackDealsOut(PackDealsRowOut):
    reasons = PackLostReasonOut(many=True, help_text="The week's lost deals per lost reason.")
    by_rep = PackDealsRowOut(many=True)


class PackRejectionReasonOut(serializers.Serializer):
    label = serializers.CharField()
    kind = serializers.CharField(help_text="rejected or recycled.")
    count = serializers.IntegerField()


class PackCampaignOut(serializers.Serializer):
    label = serializers.CharField()
    channel = serializers.CharField()
    revenue = serializers.DecimalField(**MONEY, help_text="Attributed under the pack's attribution model.")
    won_deals = serializers.IntegerField()
    spend = serializers.DecimalField(**MONEY)
    roi_pct = serializers.DecimalField(**PCT)


class PackVersionOut(PackDealsRowOut):
    version = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(help_text="The definition's status now (active, retired, …).")
    decided = serializers.IntegerField()
    accepted = serializers.IntegerField()
    accepted_pct = serializers.DecimalField(**PCT)
    rejected = serializers.IntegerField()
    recycled = serializers.IntegerField()


class PackStageEntriesOut(serializers.Serializer):
    stage = serializers.CharField()
    entries = serializers.IntegerField(help_text="Leads whose first ever entry into the stage fell in the week.")


class PackActionItemSnapshotOut(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    owner = serializers.CharField(help_text="Empty when nobody owns it yet.")
    due = serializers.DateField(allow_null=True)
    opened_week = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)


class PackFiguresOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    as_of = serializers.DateTimeField(help_text="The moment the figures describe: the week's end, or the build.")
    currency = serializers.CharField()
    attribution_model = serializers.CharField()
    agreement = PackAgreementOut()
    deals = PackDealsOut()
    rejection_reasons = PackRejectionReasonOut(many=True)
    campaigns = PackCampaignOut(many=True)
    campaign_revenue_total = serializers.DecimalField(**MONEY)
    versions = PackVersionOut(many=True)
    funnel = PackStageEntriesOut(many=True)
    action_items = PackActionItemSnapshotOut(many=True, help_text="The items open when the pack was built.")


class MeetingPackSummaryOut(serializers.Serializer):
    week = serializers.CharField(help_text="The ISO week, like 2026-W49.")
    week_start = serializers.DateField()
    week_end = serializers.DateField()
    built_at = serializers.DateTimeField()
    emailed_at = serializers.DateTimeField(allow_null=True)
    won = serializers.IntegerField(source="figures.deals.won")
    lost = serializers.IntegerField(source="figures.deals.lost")
    won_revenue = serializers.DecimalField(source="figures.deals.won_revenue", **MONEY)
    mql_delivered = serializers.IntegerField(source="figures.agreement.mql_delivered")
    mql_target = serializers.IntegerField(source="figures.agreement.mql_target")


class MeetingPackOut(MeetingPackSummaryOut):
    figures = PackFiguresOut()
