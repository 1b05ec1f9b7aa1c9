"""The funnel's rollups, kept current from the stage history with the ROI's (reports.attribution
services: the same run, cursors and rebuild), so the funnel, the velocity and the dashboard read
a row per lead, per first entry or per move instead of the whole history of a period's leads.

- StageEntry: a lead's creation (stage "created", with the furthest stage of the forward path it
  has ever been in) and its first entry into each stage of the forward path (its first
  StageChange to it), as reports.funnel.selectors defines cohorts and entries;
- StageMove: a move from a stage of the forward path to the next one (a StageChange), with when
  its lead entered the stage it left (its previous StageChange, or its creation), as the
  velocity defines it.

Both are derived data, like the ROI's: they point at their lead without a database constraint
and under a hidden name, so a lead merge does not move them (the survivor is recomputed) while
deleting a lead deletes them; `manage.py reports_rebuild` makes them again from scratch.

And the same first entries counted per day, so that a period's figures add up a few hundred
rows of days instead of counting every lead that entered a stage in it (the dashboard's trend,
cohorts and entries at a million leads):

- CohortDay: the leads created on a day with each furthest place (the creation rows);
- EntryDay: the leads that first entered each stage on a day.

A day is the instance's zone's (TIME_ZONE): the periods the pages offer are whole days of it.
`reports.funnel.days` keeps them equal to StageEntry's rows: each refresh of a lead's rows adds
the difference it made; deleting a lead notes its rows' counts as due to be taken out
(`CASCADE_COUNTED`, DayCountDue), which the next run does; a rebuild counts them afresh, as
does the first run after TIME_ZONE changed. Only the runs, one at a time, write the totals.
"""

from django.db import models

from leads.models import Lead

CREATED = "created"


def CASCADE_COUNTED(collector, field, sub_objs, using):  # noqa: N802 (named like Django's CASCADE)
    """CASCADE for a deleted lead's first entries (a merge deletes the other lead, an admin may
    delete one), noting first what the day totals must lose with them."""
    from reports.funnel.days import days_due  # the module that keeps the totals imports this one

    days_due(sub_objs, using=using)
    models.CASCADE(collector, field, sub_objs, using)


CASCADE_COUNTED.lazy_sub_objs = True  # a query for the totals, not the rows loaded one by one


class StageEntry(models.Model):
    """When a lead was created (stage "created"), or first entered a stage of the forward path."""

    pk = models.CompositePrimaryKey("lead", "stage")
    lead = models.ForeignKey(Lead, on_delete=CASCADE_COUNTED, related_name="+", db_constraint=False, db_index=False)
    stage = models.CharField(max_length=20)
    at = models.DateTimeField()
    furthest = models.SmallIntegerField(
        null=True, help_text="On the creation row: the furthest stage's place in FUNNEL (-1: none of it)."
    )

    class Meta:
        # A period's cohort, entries and MQLs per month read from this index alone.
        indexes = [models.Index(fields=["stage", "at"], include=["furthest", "lead"], name="stageentry_stage_at")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.stage} {self.at:%Y-%m-%d}"


class StageMove(models.Model):
    """A move from a stage of the forward path to the next one: the StageChange's id, when it was
    made, and when its lead had entered the stage it left."""

    change_id = models.BigIntegerField(primary_key=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    from_stage = models.CharField(max_length=20)
    moved_at = models.DateTimeField()
    entered_at = models.DateTimeField()

    class Meta:
        # A period's moves and their durations read from this index alone, already in order of
        # the stage they left, so the medians per stage need no sort of the period's moves.
        indexes = [
            models.Index(
                fields=["from_stage", "moved_at"], include=["entered_at", "lead"], name="stagemove_from_stage_moved_at"
            )
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: from {self.from_stage} {self.moved_at:%Y-%m-%d}"


class CohortDay(models.Model):
    """How many leads were created on a day (the instance's zone) whose furthest place is
    `furthest`: StageEntry's creation rows, counted."""

    pk = models.CompositePrimaryKey("day", "furthest")
    day = models.DateField()
    furthest = models.SmallIntegerField(help_text="The furthest stage's place in FUNNEL (-1: none of it).")
    leads = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} created, furthest {self.furthest}"


class EntryDay(models.Model):
    """How many leads first entered a stage of the forward path on a day (the instance's zone):
    StageEntry's entry rows, counted."""

    pk = models.CompositePrimaryKey("stage", "day")
    stage = models.CharField(max_length=20)
    day = models.DateField()
    leads = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} first entered {self.stage}"


class DayCountDue(models.Model):
    """Counts the next rollups run adds to the day totals: a deleted lead's rows, negated. Noted
    here by the deleting transaction, which would otherwise lock the days' rows a run may be
    writing (and wait for it, or it for the deletion), and added by the run."""

    stage = models.CharField(max_length=20)
    day = models.DateField()
    furthest = models.SmallIntegerField(null=True)
    leads = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.leads:+} {self.stage}"
