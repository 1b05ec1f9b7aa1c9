"""Serializers for the sales API: inputs (…In) validate shape and type, outputs (…Out) render.

Rules about what may happen (a lead must be claimed first, a reason from the list, a past
month is closed) live in the services; their SalesError becomes a 4xx with a field message.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import serializers

from leads.models import Activity, AssignmentRule, Deal, DealStage, Notification, Persona, Reason, Team
from leads.sales.assignment import REGIONS
from leads.sales.manual_handoff import MAX_NOTE
from leads.sales.selectors import rule_sentence
from leads.sales.teams import MAX_CAPACITY
from leads.serializers import LeadOut, NamedRefOut, UserRefOut
from smarketing.roles import Role

MAX_AMOUNT_DIGITS = 14
ROW_ID_MAX = 2**63 - 1  # the largest id a BigAutoField holds


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
    by = serializers.CharField(source="by.username", default=None, allow_null=True)

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
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    lost_reason = serializers.CharField(source="lost_reason.code", default=None, allow_null=True)
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
    stage = serializers.IntegerField(required=False, min_value=1, max_value=ROW_ID_MAX)
    open = serializers.BooleanField(required=False, allow_null=True, default=None)


class NotificationOut(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "text", "url", "created_at", "read_at"]


class NotificationsReadIn(serializers.Serializer):
    # Bounded as a row id is: a larger number would overflow the database's integer, a 500.
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX),
        required=False,
        allow_null=True,
        default=None,
        max_length=1_000,
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


# --- Teams, reps and assignment rules --------------------------------------------------------


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    manager = serializers.PrimaryKeyRelatedField(
        queryset=_users(),
        required=False,
        allow_null=True,
        help_text="Administrators only: the manager's user id (null: no manager). A manager's teams are theirs.",
    )


class TeamUpdateIn(TeamIn):
    name = serializers.CharField(max_length=100, required=False)


class TeamOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    manager = UserRefOut(allow_null=True)
    rep_count = serializers.IntegerField()
    open_leads = serializers.IntegerField(help_text="Leads its reps hold.")
    pooled = serializers.IntegerField(help_text="Leads waiting in its pool.")


class RepOut(serializers.Serializer):
    id = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.get_full_name")
    capacity = serializers.IntegerField(help_text="Most open leads at once.")
    away_from = serializers.DateField(allow_null=True)
    away_until = serializers.DateField(allow_null=True, help_text="Inclusive.")
    open = serializers.IntegerField(help_text="Open leads held now.")
    in_time_pct = serializers.IntegerField(
        allow_null=True, help_text="This month's handoffs touched within the deadline, of those decided, in percent."
    )


class TeamDetailOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    manager = UserRefOut(allow_null=True)
    reps = RepOut(many=True)


class TeamRepIn(serializers.Serializer):
    rep = serializers.PrimaryKeyRelatedField(queryset=_users(), help_text="The user id of a sales rep.")
    capacity = serializers.IntegerField(
        min_value=0, max_value=MAX_CAPACITY, required=False, allow_null=True, default=None
    )


class RepProfileIn(serializers.Serializer):
    capacity = serializers.IntegerField(min_value=0, max_value=MAX_CAPACITY, required=False)
    away_from = serializers.DateField(required=False, allow_null=True, help_text="Left out: unchanged; null: clear.")
    away_until = serializers.DateField(
        required=False, allow_null=True, help_text="Inclusive. Left out: unchanged; null: clear."
    )


class RuleIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(required=False)
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2, allow_blank=True),
        required=False,
        max_length=300,
        help_text='ISO codes, e.g. ["ES", "PT"].',
    )
    regions = serializers.ListField(
        child=serializers.CharField(max_length=10),
        required=False,
        max_length=10,
        help_text=f"Any of {', '.join(REGIONS)}.",
    )
    company_size_min = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    company_size_max = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    industries = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=200)
    personas = serializers.PrimaryKeyRelatedField(
        queryset=Persona.objects.all(), many=True, required=False, help_text="Persona ids."
    )
    sources = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=200)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, help_text="The team its leads go to…"
    )
    rep = serializers.PrimaryKeyRelatedField(
        queryset=_users(), required=False, allow_null=True, help_text="…or the rep (not both)."
    )


class RuleOut(serializers.ModelSerializer):
    sentence = serializers.SerializerMethodField()

    class Meta:
        model = AssignmentRule
        fields = [
            "id",
            "position",
            "name",
            "is_active",
            "countries",
            "regions",
            "company_size_min",
            "company_size_max",
            "industries",
            "personas",
            "sources",
            "team",
            "rep",
            "sentence",
        ]

    def get_sentence(self, rule: AssignmentRule) -> str:
        return rule_sentence(rule)


class RulesOrderIn(serializers.Serializer):
    rule_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX),
        max_length=10_000,
        help_text="Every rule's id once, first rule first.",
    )
