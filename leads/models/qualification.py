"""Versioned MQL/SQL definitions that marketing and sales sign off together."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DefinitionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class QualificationDefinition(models.Model):
    """A version of the MQL and SQL criteria that marketing and sales agreed on.

    draft → proposed → approved (one Marketing and one Sales signature) → active → retired;
    exactly one version is active. The rule trees are described in leads/qualification/trees.py.
    """

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DefinitionStatus.choices, default=DefinitionStatus.DRAFT)
    mql_rule = models.JSONField(default=dict)
    sql_rule = models.JSONField(default=dict)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    proposed_at = models.DateTimeField(null=True, blank=True)
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    sales_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sales_signed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="one_active_definition"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version}" + (f" · {self.name}" if self.name else "")

    @property
    def is_editable(self) -> bool:
        return self.status == DefinitionStatus.DRAFT
