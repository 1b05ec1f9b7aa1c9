"""Referrals: a customer or evangelist's code, and the leads that came through it."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import Lead


class Referrer(models.Model):
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    """Credit for a referred lead: pending, earned when that lead becomes a customer, then paid."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        EARNED = "earned", "Earned"
        PAID = "paid", "Paid"

    referrer = models.ForeignKey(Referrer, on_delete=models.CASCADE, related_name="referrals")
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    credit = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)
    earned_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referrer", "status"], name="referral_referrer_status")]

    def __str__(self) -> str:
        return f"{self.lead_id} via {self.referrer_id}"
