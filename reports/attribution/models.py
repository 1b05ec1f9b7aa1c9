"""The ROI report's rollups, kept current from the rows the product already writes.

- DealCredit: a won deal's cents per campaign under each attribution model, computed once when
  the deal, its lead's touches or its lead's MQL moment change (reports.attribution.rollups);
- LeadMilestone: when each lead was created and first entered MQL, SQL, opportunity and
  customer, with its first campaign: the ROI's lead and stage counts are counts of these;
- RollupCursor: how far the rollups have read each growing table; RollupState: whether they
  were ever built, and the campaigns they knew.

Both rollups are derived data: `manage.py reports_rebuild` makes them again from scratch. They
point at their deal or lead without a database constraint (a rebuild inserts hundreds of
thousands of rows) and under a hidden name (related_name "+"), so a lead merge does not move
them (the merge is read and the survivor recomputed) while deleting a lead or a deal still
deletes them. Campaigns are named without a constraint or cascade: a deleted campaign's rows
are recomputed by the next run, and read as "(no campaign)" until then.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Campaign, Deal, Lead, Stage


class DealCredit(models.Model):
    """One won deal's cents for one campaign (None: a deal without touches, "(no campaign)"),
    a column per attribution model; NULL where the model gives the campaign no share (a share
    that rounds to no cents is 0, and still counts the deal on the campaign's row)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    campaign = models.ForeignKey(
        Campaign, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    won_at = models.DateTimeField(help_text="The deal's closed_at: the period its revenue falls in.")
    first_touch = models.BigIntegerField(null=True)
    last_touch = models.BigIntegerField(null=True)
    linear = models.BigIntegerField(null=True)
    u_shaped = models.BigIntegerField(null=True)
    w_shaped = models.BigIntegerField(null=True)
    time_decay = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["won_at"], name="dealcredit_won_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "campaign"], condition=Q(campaign__isnull=False), name="dealcredit_one_per_campaign"
            ),
            models.UniqueConstraint(fields=["deal"], condition=Q(campaign__isnull=True), name="dealcredit_one_none"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} · campaign {self.campaign_id}"


class Milestone(models.TextChoices):
    CREATED = "lead", "Created"
    MQL = Stage.MQL.value, "First MQL"
    SQL = Stage.SQL.value, "First SQL"
    OPPORTUNITY = Stage.OPPORTUNITY.value, "First opportunity"
    CUSTOMER = Stage.CUSTOMER.value, "First customer"


class LeadMilestone(models.Model):
    """When a lead was created, or first entered a stage (its first StageChange to it), on its
    first campaign's account (a copy of Lead.first_campaign) and under the definition version
    that qualified it (a copy of Lead.qualified_version, which only a qualification move, a stage
    change the rollups follow, or a merge changes)."""

    pk = models.CompositePrimaryKey("lead", "milestone")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    milestone = models.CharField(max_length=12, choices=Milestone.choices)
    at = models.DateTimeField()
    campaign = models.ForeignKey(
        Campaign, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    version = models.PositiveIntegerField(null=True)

    class Meta:
        # A period's counts per milestone and campaign (or version) read from this index alone.
        indexes = [models.Index(fields=["at"], include=["milestone", "campaign", "version"], name="leadmilestone_at")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.milestone} {self.at:%Y-%m-%d}"


class RollupCursor(models.Model):
    """Where the rollups are in one growing table: every row up to `last_id` was handled but
    those in `gaps`, ids missing when read ([first, last, first seen as a Unix time]), which a
    transaction still running may yet commit; `last_at` is when the row at `last_id` was written."""

    name = models.CharField(max_length=50, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    gaps = models.JSONField(default=list, blank=True)
    read_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"


class RollupState(models.Model):
    """One row: when the rollups were last built from scratch (None: never, so the next run
    builds them), the campaigns they knew at the last run (a campaign gone since is recomputed
    away), and the zone the funnel's day totals were counted in (another: counted again)."""

    built_at = models.DateTimeField(null=True, blank=True)
    campaign_ids = models.JSONField(default=list, blank=True)
    days_zone = models.CharField(max_length=64, blank=True, help_text="The TIME_ZONE the day totals were counted in.")

    def __str__(self) -> str:
        return f"rollups built {self.built_at:%Y-%m-%d %H:%M}" if self.built_at else "rollups never built"
