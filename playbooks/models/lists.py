"""Lists of leads: static lists people (and playbooks, and imports) add to and remove from,
and segments, which are a saved condition tree whose members are whoever matches it now."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from leads.models import Lead


class LeadList(models.Model):
    class Kind(models.TextChoices):
        STATIC = "static", "Static list"
        SEGMENT = "segment", "Segment"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STATIC)
    description = models.CharField(max_length=300, blank=True)
    condition = models.JSONField(
        default=dict, blank=True, help_text="A segment's condition tree (the qualification tree's shape)."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint(Lower("name"), name="lead_list_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    """A lead on a static list. Its id grows with every addition, which is how playbooks whose
    trigger is "joined a list" find the new members (playbooks.engine)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        IMPORT = "import", "Import"
        PLAYBOOK = "playbook", "Playbook"
        POLICY = "policy", "Stage policy"

    list = models.ForeignKey(LeadList, on_delete=models.CASCADE, related_name="memberships")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["list", "lead"], name="list_membership_unique")]
        indexes = [
            models.Index(fields=["list", "-added_at", "-id"], name="list_membership_added"),
            models.Index(fields=["lead"], name="list_membership_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} on {self.list_id}"
