"""The scoring model: personas, engagement and negative rules, and the rollups that keep scoring fast."""

import uuid

from django.db import models
from django.utils import timezone

from leads.models.core import Lead


class Persona(models.Model):
    """A buyer archetype: attribute conditions with weights; fit is the weighted share matched."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    conditions = models.JSONField(
        default=list, help_text='A list of {"field", "op", "value", "weight"}; see leads/conditions.py.'
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScoringRule(models.Model):
    """An engagement rule (event → points, capped, decaying) or a negative rule (attribute → minus points)."""

    class Kind(models.TextChoices):
        ENGAGEMENT = "engagement", "Engagement"
        FREE_MAIL = "free_mail", "Free-mail domain"
        COMPETITOR = "competitor", "Competitor"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ENGAGEMENT)
    event_type = models.CharField(max_length=64, blank=True, help_text="Engagement rules: the event that earns points.")
    property_filter = models.JSONField(
        default=dict, blank=True, help_text='Optional: {"property": "value"} the event must carry.'
    )
    points = models.IntegerField(help_text="Points per event (engagement) or points taken off (negative rules).")
    cap = models.PositiveIntegerField(null=True, blank=True, help_text="Most points this rule can give a lead.")
    half_life_days = models.FloatField(
        null=True, blank=True, help_text="An event's points halve every this many days. Empty: no decay."
    )
    values = models.JSONField(
        default=list, blank=True, help_text="Negative rules: the free-mail domains or competitor names/domains."
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(half_life_days__isnull=True) | models.Q(half_life_days__gt=0),
                name="scoring_rule_half_life_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_negative(self) -> bool:
        return self.kind != self.Kind.ENGAGEMENT


class EngagementRollup(models.Model):
    """Per lead and engagement rule: the decayed sum of points as of ScoringState.decayed_at.

    Kept current as events arrive and decayed multiplicatively each night, so a rescore reads
    these small rows instead of every event.
    """

    # A rebuild inserts millions of these rows, so each costs as little as it can: the (lead,
    # rule) key is the only index (by rule, the rare readers, decay and rule deletion, scan),
    # and no foreign-key constraint checks and locks the lead and rule of every row. Rollups
    # are derived data: deleting a lead or rule still deletes its rollups (Django cascades).
    pk = models.CompositePrimaryKey("lead", "rule")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    rule = models.ForeignKey(
        ScoringRule, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    value = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"lead {self.lead_id} · rule {self.rule_id}: {self.value:.2f}"


class LeadScore(models.Model):
    """A lead's fit, engagement, score, best persona and breakdown, one row per lead.

    Apart from the lead's row on purpose: a rescore rewrites most of these rows, and here
    each write touches five indexes instead of the lead's thirteen (trigram search included),
    so PostgreSQL can rewrite a million of them in seconds.
    """

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="scoring")
    fit = models.SmallIntegerField(default=0)
    engagement = models.IntegerField(default=0)
    score = models.IntegerField(default=0)
    persona = models.ForeignKey(
        Persona,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scores",
        db_index=False,  # the (persona, created) index below serves it
        help_text="Best match.",
    )
    breakdown = models.JSONField(default=dict, blank=True, help_text="Each rule's contribution to the score.")
    # A copy of the lead's (set with the row, kept by every rescore): the list filtered by persona or
    # score is ordered through this table's indexes, instead of walking the newest leads one by
    # one to find matching scores, which costs most when the newest are mostly unscored.
    created_at = models.DateTimeField(default=timezone.now, help_text="The lead's creation time, copied.")
    # A copy the rescore keeps (every capture rescores the leads it touched), so the list can
    # sort by last touch through an index here and the lead row's touch update stays HOT.
    last_touch_at = models.DateTimeField(null=True, blank=True, help_text="The lead's last touch, copied.")

    class Meta:
        # Each ends in the lead, the lists' tie-break, so a first page is an index scan.
        indexes = [
            models.Index(fields=["score", "lead"], name="lead_score_score"),
            models.Index(fields=["persona", "-created_at", "-lead"], name="lead_score_persona_created"),
            # A score range in the lists' order: newest first, the score read from the index.
            models.Index(fields=["-created_at", "-lead", "score"], name="lead_score_created"),
            models.Index(fields=["last_touch_at", "lead"], name="lead_score_last_touch"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.score}"


def new_token() -> str:
    return uuid.uuid4().hex


class ScoringState(models.Model):
    """One row: the moment every rollup's value is decayed to."""

    decayed_at = models.DateTimeField(default=timezone.now)
    # A fresh token (never a counter: a rolled-back change must not reuse the number of a
    # later one) on every change of a persona, rule or definition; see leads/rulebook.py.
    rulebook_version = models.CharField(max_length=32, default=new_token)

    def __str__(self) -> str:
        return f"scores decayed to {self.decayed_at:%Y-%m-%d %H:%M}"

    @classmethod
    def current(cls) -> "ScoringState":
        state, _ = cls.objects.get_or_create(pk=1)
        return state
