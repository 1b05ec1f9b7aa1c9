"""Capture forms, merges of duplicate leads, and saved lead-list views."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models.core import LEAD_FIELD_LABELS, Campaign, Lead


class CaptureForm(models.Model):
    """A hosted form and its embeddable snippet; submissions post to /api/v1/capture/<key>/."""

    FIELD_CHOICES = [("email", "Email"), *LEAD_FIELD_LABELS.items()]

    name = models.CharField(max_length=200)
    key = models.SlugField(max_length=40, unique=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="forms")
    fields = models.JSONField(default=list, help_text="Field names shown on the form; email is always included.")
    required_fields = models.JSONField(default=list, blank=True)
    thank_you_url = models.URLField(blank=True, help_text="Where a browser goes after submitting. Empty: our page.")
    consent_text = models.TextField(blank=True, help_text="Shown beside the consent checkbox. Empty: no checkbox.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class LeadMerge(models.Model):
    """Record of two leads merged by hand: what the absorbed lead was, and into which survivor."""

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges")
    merged_lead_id = models.BigIntegerField()
    merged_email = models.EmailField(max_length=254)
    snapshot = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.merged_email} → {self.survivor_id}"


class SavedView(models.Model):
    """A named lead-list filter, kept per user (or shared with everyone)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, help_text="The list's query string.")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name
