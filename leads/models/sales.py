"""The sales side: the agreement, teams and assignment, handoffs (the queue and its clock),
activities, managed reason lists, deals and notifications."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models.core import Lead, Stage

# --- The agreement ----------------------------------------------------------------------


class Agreement(models.Model):
    """What marketing and sales promised each other for one month.

    One row per month; the current agreement is this month's, or the latest earlier one
    carried forward. Past months keep theirs so attainment is always measured against the
    promise that held then.
    """

    HANDOFF_STAGES = [(Stage.MQL.value, Stage.MQL.label), (Stage.SQL.value, Stage.SQL.label)]

    month = models.DateField(unique=True, help_text="The first day of the month it holds for.")
    mql_target = models.PositiveIntegerField(default=20, help_text="MQLs marketing delivers this month.")
    # Sales closes `close_quota` of every `close_per` leads marketing hands over ("5 of every 20").
    close_quota = models.PositiveIntegerField(default=5, help_text="Leads sales wins of every `close_per` handed over.")
    close_per = models.PositiveIntegerField(default=20, help_text="Out of how many handed-over leads.")
    speed_to_lead_hours = models.PositiveIntegerField(default=24, help_text="Hours from handoff to first touch.")
    reassign_after_hours = models.PositiveIntegerField(
        default=24, help_text="Hours past the first-touch deadline after which an untouched lead is reassigned."
    )
    first_touch_target_pct = models.PositiveSmallIntegerField(
        default=90, help_text="Share of handoffs to be touched in time, in percent."
    )
    handoff_stage = models.CharField(max_length=20, choices=HANDOFF_STAGES, default=Stage.MQL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(speed_to_lead_hours__gt=0), name="agreement_speed_positive"),
            models.CheckConstraint(condition=Q(first_touch_target_pct__lte=100), name="agreement_pct_at_most_100"),
            models.CheckConstraint(
                condition=Q(close_per__gt=0, close_quota__lte=models.F("close_per")), name="agreement_close_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"Agreement {self.month:%Y-%m}"

    @property
    def close_rate_pct(self) -> float:
        """The agreed close rate: 5 of every 20 is 25 %."""
        return round(self.close_quota * 100 / self.close_per, 1) if self.close_per else 0.0

    @classmethod
    def for_month(cls, month: date) -> "Agreement":
        """The agreement holding in the month of `month`: its own, the latest earlier one, or the defaults.

        The defaults are an unsaved row, so a new instance works before a manager sets one.
        """
        first = month.replace(day=1)
        found = cls.objects.filter(month__lte=first).order_by("-month").first()
        return found or cls(month=first)

    @classmethod
    def current(cls) -> "Agreement":
        return cls.for_month(timezone.localdate())


# --- Teams and assignment ---------------------------------------------------------------


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


DEFAULT_CAPACITY = 25


class RepProfile(models.Model):
    """A rep's team (at most one), capacity and time away. A rep without one has the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep_profile")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="reps")
    capacity = models.PositiveIntegerField(default=DEFAULT_CAPACITY, help_text="Most open leads at once.")
    away_from = models.DateField(null=True, blank=True)
    away_until = models.DateField(null=True, blank=True, help_text="Inclusive.")
    # Round-robin turn: the rep assigned longest ago goes next.
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(away_from__isnull=True)
                | Q(away_until__isnull=True)
                | Q(away_until__gte=models.F("away_from")),
                name="rep_away_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.team or 'no team'})"

    def is_away(self, on: date | None = None) -> bool:
        """Away on that day: inside [away_from, away_until], either end open."""
        if self.away_from is None and self.away_until is None:
            return False
        day = on or timezone.localdate()
        return (self.away_from is None or self.away_from <= day) and (self.away_until is None or day <= self.away_until)


class AssignmentRule(models.Model):
    """Ordered: the first active rule whose conditions all hold sends the lead to its team or rep.

    An empty condition matches anything. A rule naming a rep who is away or full is passed
    over, so the next rule gets its chance.
    """

    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    countries = models.JSONField(default=list, blank=True, help_text='ISO codes, e.g. ["ES", "MX"].')
    regions = models.JSONField(
        default=list, blank=True, help_text='e.g. ["EMEA", "LATAM"]; see leads/sales/assignment.py.'
    )
    company_size_min = models.PositiveIntegerField(null=True, blank=True)
    company_size_max = models.PositiveIntegerField(null=True, blank=True)
    industries = models.JSONField(default=list, blank=True)
    personas = models.ManyToManyField("leads.Persona", blank=True, related_name="+")
    sources = models.JSONField(default=list, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="assignment_rules"
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(team__isnull=False) & Q(rep__isnull=True)) | (Q(team__isnull=True) & Q(rep__isnull=False)),
                name="assignment_rule_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class HandoffStatus(models.TextChoices):
    POOLED = "pooled", "Waiting in a pool"
    ASSIGNED = "assigned", "With a rep"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    RECYCLED = "recycled", "Recycled"
    RETURNED = "returned", "Returned to marketing"


OPEN_HANDOFF = [HandoffStatus.POOLED, HandoffStatus.ASSIGNED]


class Handoff(models.Model):
    """A lead handed to sales: where it waits, who holds it, and its speed-to-lead clock.

    Narrow on purpose: the claim, the queue and the clock job read only this table through
    partial indexes. `score` is the lead's, copied at handoff and refreshed by the clock job,
    so a claim is one index step. `deadline` is the agreement's (attainment is measured
    against it); `due_at` is the current holder's, restarted when the lead is reassigned.
    """

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="handoff")
    stage = models.CharField(max_length=20, choices=Stage.choices, help_text="The stage that triggered it.")
    status = models.CharField(max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.POOLED)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    score = models.IntegerField(default=0)
    why = models.JSONField(default=list, blank=True, help_text="The rules that qualified the lead.")
    handed_off_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(help_text="First touch due under the agreement.")
    due_at = models.DateTimeField(help_text="First touch due from the current holder.")
    reassign_at = models.DateTimeField(help_text="Untouched by then, the lead is reassigned.")
    first_touch_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="When the clock job flagged it overdue.")
    reassigned_at = models.DateTimeField(null=True, blank=True)
    reassign_count = models.PositiveSmallIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_activity_kind = models.CharField(max_length=20, blank=True)
    revisit_on = models.DateField(null=True, blank=True, help_text="Recycled: the day it returns to marketing.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Claim: the best pooled lead is the first entry of this index.
            models.Index(
                models.F("score").desc(),
                "handed_off_at",
                "id",
                name="handoff_pool",
                condition=Q(status=HandoffStatus.POOLED),
            ),
            # A rep's queue, by their deadline.
            models.Index(
                fields=["assigned_to", "due_at"], name="handoff_queue", condition=Q(status=HandoffStatus.ASSIGNED)
            ),
            # The clock job: open, untouched, not yet flagged.
            models.Index(
                fields=["due_at"],
                name="handoff_clock",
                condition=Q(status__in=OPEN_HANDOFF, first_touch_at__isnull=True, overdue_at__isnull=True),
            ),
            models.Index(
                fields=["reassign_at"],
                name="handoff_reassign",
                condition=Q(status__in=OPEN_HANDOFF, first_touch_at__isnull=True),
            ),
            models.Index(fields=["revisit_on"], name="handoff_revisit", condition=Q(status=HandoffStatus.RECYCLED)),
            models.Index(fields=["handed_off_at"], name="handoff_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=HandoffStatus.ASSIGNED) | Q(assigned_to__isnull=False),
                name="handoff_assigned_has_rep",
            ),
        ]

    def __str__(self) -> str:
        return f"handoff of lead {self.lead_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_HANDOFF

    def is_overdue(self) -> bool:
        return self.is_open and self.first_touch_at is None and self.due_at < timezone.now()


class AssignmentLog(models.Model):
    """Append-only: every time a lead is assigned, pooled, claimed or reassigned, and why."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", "Assigned by rule"
        POOLED = "pooled", "Pooled"
        CLAIMED = "claimed", "Claimed"
        REASSIGNED = "reassigned", "Reassigned"
        OVERDUE = "overdue", "Flagged overdue"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    action = models.CharField(max_length=12, choices=Action.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    # What a person wrote when handing the lead over by hand. A database default, because the
    # claim, the clock job and reassignment insert rows with their own statements.
    note = models.TextField(blank=True, default="", db_default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="assignmentlog_lead_time")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.action}"


# --- Reasons, activities ----------------------------------------------------------------


class Reason(models.Model):
    """A managed list entry: why a lead was rejected or recycled, or why a deal was lost."""

    class Kind(models.TextChoices):
        REJECT = "reject", "Reject"
        RECYCLE = "recycle", "Recycle"
        LOST = "lost", "Deal lost"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    needs_text = models.BooleanField(default=False, help_text="Ask for an explanation (e.g. “other”).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="reason_kind_code_unique")]

    def __str__(self) -> str:
        return self.label


class Activity(models.Model):
    """A rep's logged work on a lead. The first one stops the speed-to-lead clock."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        DEMO = "demo", "Demo"
        PROPOSAL = "proposal", "Proposal"
        NEGOTIATION = "negotiation", "Negotiation"
        NOTE = "note", "Note"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    outcome = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    next_step_on = models.DateField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="activities")
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    # Sent by the form or client with each submission; a resend finds the first one.
    client_token = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on lead {self.lead_id}"


# --- Deals ------------------------------------------------------------------------------


class DealStage(models.Model):
    """A pipeline column. Exactly one stage means won and one means lost; the rest are open."""

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=50, unique=True)
    position = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=4, choices=Outcome.choices, default=Outcome.OPEN)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome"], condition=~Q(outcome="open"), name="deal_stage_one_won_one_lost"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.outcome != self.Outcome.OPEN


class Deal(models.Model):
    """An opportunity opened when a rep accepts a lead. Amounts are in settings.CURRENCY."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="deals")
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="deals")
    stage = models.ForeignKey(DealStage, on_delete=models.PROTECT, related_name="deals")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close_on = models.DateField(null=True, blank=True)
    lost_reason = models.ForeignKey(Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lost_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "stage"], name="deal_owner_stage"),
            models.Index(fields=["stage", "closed_at"], name="deal_stage_closed"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
            # One open deal per lead at a time; a customer may get new ones later.
            models.UniqueConstraint(
                fields=["lead"], condition=Q(closed_at__isnull=True), name="deal_one_open_per_lead"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class DealChange(models.Model):
    """Append-only: every change to a deal, field by field ({"field": [before, after]})."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20)
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["deal", "-at"], name="dealchange_deal_time")]

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.action}"


# --- Notifications ----------------------------------------------------------------------


class Notification(models.Model):
    """Something a user should see in the app; also emailed (in a digest) by a task."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_time"),
            models.Index(fields=["user"], name="notification_unemailed", condition=Q(emailed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.text
