"""The audit log of configuration changes: who changed which setting of the product, when, and
what it held before and after."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ConfigKind(models.TextChoices):
    """What the log covers: the settings that decide how leads are scored, qualified, handed
    over and nurtured. Each is one model, named by its label in `MODEL_KINDS`."""

    PERSONA = "persona", "Persona"
    SCORING_RULE = "scoring_rule", "Scoring rule"
    DEFINITION = "definition", "Qualification definition"
    AGREEMENT = "agreement", "Agreement"
    TEAM = "team", "Team"
    REP = "rep", "Rep in a team"
    ASSIGNMENT_RULE = "assignment_rule", "Assignment rule"
    PLAYBOOK = "playbook", "Playbook"
    EMAIL_TEMPLATE = "email_template", "Email template"


# By model label, so this package names the apps' models without importing them.
MODEL_KINDS: dict[str, ConfigKind] = {
    "leads.Persona": ConfigKind.PERSONA,
    "leads.ScoringRule": ConfigKind.SCORING_RULE,
    "leads.QualificationDefinition": ConfigKind.DEFINITION,
    "leads.Agreement": ConfigKind.AGREEMENT,
    "leads.Team": ConfigKind.TEAM,
    "leads.RepProfile": ConfigKind.REP,
    "leads.AssignmentRule": ConfigKind.ASSIGNMENT_RULE,
    "playbooks.Playbook": ConfigKind.PLAYBOOK,
    "playbooks.EmailTemplate": ConfigKind.EMAIL_TEMPLATE,
}


class ConfigChange(models.Model):
    """One change to one configuration object. `before` and `after` hold the fields that
    changed (every field for a creation or a deletion), as JSON; a related object is
    {"id", "label"}."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"

    class Source(models.TextChoices):
        APP = "app", "The app or its API"
        ADMIN = "admin", "The Django admin"

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the user is deleted; empty when no person acted (a background job).
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.APP)
    action = models.CharField(max_length=10, choices=Action.choices)
    kind = models.CharField(max_length=20, choices=ConfigKind.choices)
    object_id = models.PositiveBigIntegerField()
    object_label = models.CharField(max_length=200)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest_first"),
            models.Index(fields=["kind", "object_id", "-at"], name="audit_object_history"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} “{self.object_label}” {self.action} by {self.actor_name or 'the system'}"
