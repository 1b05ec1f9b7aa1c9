"""The weekly meeting pack: one snapshot of the week's figures per ISO week, and the action items
the meeting agrees on, carried from week to week until someone closes them."""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class MeetingPack(models.Model):
    """A week's figures as they stood when the pack was built; building the week again replaces them."""

    week_start = models.DateField(unique=True, help_text="The Monday the ISO week begins, in the instance's zone.")
    figures = models.JSONField(default=dict)
    built_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the pack went to the managers' outbox; it goes once a week."
    )

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Meeting pack {self.week}"

    @property
    def week(self) -> str:
        """The ISO week's name, as in URLs and the API: 2026-W49."""
        return iso_week_name(self.week_start)

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


class ActionItem(models.Model):
    """Something the meeting agreed to do: it shows in every week's pack from the one it was
    opened in until the week it is closed."""

    text = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due = models.DateField(null=True, blank=True)
    opened_week = models.DateField(help_text="Monday of the week whose meeting opened it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["opened_week", "id"]
        indexes = [models.Index(fields=["closed_at", "opened_week"], name="action_item_open_week")]

    def __str__(self) -> str:
        return self.text

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def opened_week_name(self) -> str:
        return iso_week_name(self.opened_week)


def iso_week_name(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"
