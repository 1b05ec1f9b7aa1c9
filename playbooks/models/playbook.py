"""Playbooks and their runs: a playbook's trigger, steps and exits are JSON (the shape the
builder saves and the API takes, validated by playbooks.engine.shape); each lead in it is an
enrolment whose next step is due at a moment, and each step it ran is a step-run row."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from leads.models import Lead
from playbooks.models.email import OutboundEmail


class Playbook(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Reentry(models.TextChoices):
        NEVER = "never", "Never"
        AFTER_EXIT = "after_exit", "After it leaves"
        AFTER_DAYS = "after_days", "After some days"

    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    trigger = models.JSONField(default=dict, blank=True)
    steps = models.JSONField(default=list, blank=True)
    exits = models.JSONField(default=list, blank=True)
    reentry = models.CharField(max_length=12, choices=Reentry.choices, default=Reentry.NEVER)
    reentry_days = models.PositiveIntegerField(null=True, blank=True)
    # Derived from the steps when saved: a playbook that sends promotional email is left by a
    # lead that becomes an opportunity (the stage policies).
    promotional = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint(Lower("name"), name="playbook_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Enrollment(models.Model):
    """One lead's way through one playbook: `position` is the next step, due at `due_at`."""

    class Status(models.TextChoices):
        ACTIVE = "active", "In progress"
        COMPLETED = "completed", "Completed"
        EXITED = "exited", "Exited"

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="enrollments")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    position = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    cause = models.CharField(max_length=60, help_text="What enrolled the lead: a stage move, an event, a person.")
    entered_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "lead"], condition=Q(status="active"), name="enrollment_one_active"
            ),
            # The same cause read twice (a trigger's reader repeats a window) enrols once.
            models.UniqueConstraint(fields=["playbook", "cause"], name="enrollment_cause_once"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="active"), name="enrollment_due"),
            models.Index(fields=["lead", "-entered_at"], name="enrollment_lead"),
            models.Index(fields=["playbook", "status", "position"], name="enrollment_playbook_step"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.playbook_id}"


class StepRun(models.Model):
    """A step an enrolment ran: unique per enrolment and step, so no step runs twice."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="step_runs")
    step = models.CharField(max_length=20, help_text="The step's key in the playbook.")
    ran_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20)
    detail = models.CharField(max_length=300, blank=True)
    email = models.ForeignKey(OutboundEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["ran_at", "id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "step"], name="step_run_once")]

    def __str__(self) -> str:
        return f"{self.step}: {self.outcome}"


class TriggerCursor(models.Model):
    """Where a trigger's reader is in a growing table (events, list memberships)."""

    name = models.CharField(max_length=60, unique=True)
    last_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"
