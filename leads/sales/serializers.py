"""Serializers for the sales API: inputs (…In) validate shape and type, outputs (…Out) render.

Rules about what may happen (a lead must be claimed first, a reason from the list, a past
month is closed) live in the services; their SalesError becomes a 4xx with a field message.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import serializers

from leads.models import Activity, Deal, DealStage, Notification, Reason, Team
from leads.sales.assignment import MAX_NOTE
from leads.serializers import LeadOut, NamedRefOut, UserRefOut
from smarketing.roles import Role

MAX_AMOUNT_DIGITS = 14


class QueueItemOut(serializers.Serializer):
    lead = LeadOut()
    status = serializers.CharField(source="handoff.status")
    handed_off_at = serializers.DateTimeField(source="handoff.handed_off_at")
    due_at = serializers.DateTimeField()
    seconds_left = serializers.IntegerField(allow_null=True, help_text="Negative when overdue; null once touched.")
    overdue = serializers.BooleanField()
    why = serializers.ListField(child=serializers.CharField())
    first_touch_at = serializers.DateTimeField(source="handoff.first_touch_at", allow_null=True)
    last_touch_at = serializers.DateTimeField(allow_null=True)
    last_touch_kind = serializers.CharField()


class QueueOut(serializers.Serializer):
    open = serializers.IntegerField()
    capacity = serializers.IntegerField()
    waiting_in_pools = serializers.IntegerField(help_text="Counted up to 1,000.")
    results = QueueItemOut(many=True)


class QueueQueryIn(serializers.Serializer):
    rep = serializers.IntegerField(required=False, help_text="Managers: the id of a rep in one of their teams.")


class ActivityIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Activity.Kind.choices)
    outcome = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    next_step_on = serializers.DateField(required=False, allow_null=True, default=None)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    client_token = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Any unique string per submission; sending it again returns the first activity (200).",
    )


class ActivityOut(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", default=None)

    class Meta:
        model = Activity
        fields = ["id", "lead", "kind", "outcome", "note", "next_step_on", "occurred_at", "by", "created_at"]


class AcceptIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=40, help_text="A code from GET /api/v1/reasons/?kind=reject.")
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class RecycleIn(RejectIn):
    reason = serializers.CharField(max_length=40, help_text="A code from GET /api/v1/reasons/?kind=recycle.")
    revisit_on = serializers.DateField(help_text="The day the lead returns to marketing for requalification.")


class VerdictOut(serializers.Serializer):
    lead = LeadOut()
    reason = serializers.CharField()
    note = serializers.CharField()
    changed_at = serializers.DateTimeField()


class ReasonOut(serializers.ModelSerializer):
    class Meta:
        model = Reason
        fields = ["kind", "code", "label", "needs_text"]


class ReasonQueryIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Reason.Kind.choices, required=False)


def amount_field(**extra: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MAX_AMOUNT_DIGITS,
        decimal_places=2,
        min_value=0,
        allow_null=True,
        help_text=f"In {settings.CURRENCY}.",
        **extra,
    )


class DealStageOut(serializers.ModelSerializer):
    class Meta:
        model = DealStage
        fields = ["id", "name", "position", "outcome"]


class DealOut(serializers.ModelSerializer):
    lead = LeadOut()
    stage = DealStageOut()
    owner = serializers.CharField(source="owner.username", default=None)
    lost_reason = serializers.CharField(source="lost_reason.code", default=None)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "lead",
            "stage",
            "amount",
            "currency",
            "expected_close_on",
            "owner",
            "lost_reason",
            "lost_note",
            "created_at",
            "updated_at",
            "closed_at",
        ]

    def get_currency(self, deal: Deal) -> str:
        return settings.CURRENCY


class DealCreateIn(serializers.Serializer):
    lead = serializers.IntegerField(help_text="An accepted lead (opportunity) of yours without an open deal.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    amount = amount_field(required=False, default=None)
    expected_close_on = serializers.DateField(required=False, allow_null=True, default=None)


class DealUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    amount = amount_field(required=False)
    expected_close_on = serializers.DateField(required=False, allow_null=True)
    stage = serializers.PrimaryKeyRelatedField(queryset=DealStage.objects.all(), required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True, groups__name=Role.SALES.value),
        required=False,
        help_text="Managers only: the rep who owns the deal.",
    )


class DealWonIn(serializers.Serializer):
    amount = amount_field(required=False, default=None)


class DealLostIn(serializers.Serializer):
    reason = serializers.CharField(max_length=40, help_text="A code from GET /api/v1/reasons/?kind=lost.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class DealReopenIn(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=DealStage.objects.all(), required=False, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class DealQueryIn(serializers.Serializer):
    stage = serializers.IntegerField(required=False)
    open = serializers.BooleanField(required=False, allow_null=True, default=None)


class NotificationOut(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "text", "url", "created_at", "read_at"]


class NotificationsReadIn(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_null=True, default=None, max_length=1_000
    )


# --- Handing a lead to sales by hand ----------------------------------------------------------


def _users() -> Any:
    return get_user_model().objects.all()


class HandOffIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_NOTE)
    rep = serializers.PrimaryKeyRelatedField(
        queryset=_users(), required=False, allow_null=True, default=None, help_text="A sales rep to take it…"
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="…or a team (round-robin, else its pool). Neither: the assignment rules place it.",
    )


class HandoffOut(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    stage = serializers.CharField(help_text="The lead's stage when handed over (MQL or SQL).")
    status = serializers.CharField(help_text="assigned (a rep holds it) or pooled.")
    team = NamedRefOut(allow_null=True)
    assigned_to = UserRefOut(allow_null=True)
    handed_off_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(help_text="First touch due under the agreement.")
