"""Email: the templates marketing writes, the outbox every send goes through, and the addresses
that must never be mailed again."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from leads.models import Lead


class TemplateKind(models.TextChoices):
    """What a message is for: the rules that always hold allow kinds by the lead's stage."""

    PROMOTIONAL = "promotional", "Promotional"
    CONVERSION = "conversion", "Conversion content"
    CUSTOMER = "customer", "Customer"
    TRANSACTIONAL = "transactional", "Transactional"


class EmailTemplate(models.Model):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=TemplateKind.choices, default=TemplateKind.PROMOTIONAL)
    subject = models.CharField(max_length=200, help_text="Plain text; may use the same variables as the body.")
    body = models.TextField(help_text="HTML with {{ variables }}; CSS in a <style> block is inlined when sent.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint(Lower("name"), name="email_template_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class OutboundEmail(models.Model):
    """One message to one lead: written in the transaction that decided to send it, sent at most
    once. A refusal by the rules that always hold is a row too, with its reason."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SUPPRESSED = "suppressed", "Suppressed"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"

    # None for a message to a colleague rather than a lead (the weekly meeting pack to managers).
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=TemplateKind.choices)
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=40, blank=True, help_text="Why it was suppressed or failed.")
    detail = models.TextField(blank=True)
    cause = models.CharField(max_length=120, blank=True, help_text="What asked for it: a test send, a playbook step.")
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
            models.Index(fields=["lead", "-created_at"], name="outbox_lead_created"),
            models.Index(fields=["lead", "kind", "created_at"], name="outbox_lead_kind_created"),
            models.Index(fields=["-created_at", "-id"], name="outbox_created"),
        ]

    # The cause's prefix of a message whose body is a key (a password-reset link): anyone who may
    # read the outbox could use it, so its pages show the message's headers only.
    CONFIDENTIAL = "Confidential: "

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email}"

    def is_confidential(self) -> bool:
        return self.cause.startswith(self.CONFIDENTIAL)


class Suppression(models.Model):
    """An address never to be mailed: it bounced hard or complained (from the email service's
    webhooks), or someone suppressed it by hand. Unsubscribing is the lead's own state."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (marked as spam)"
        MANUAL = "manual", "Suppressed by hand"

    email = models.EmailField(max_length=254, unique=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"
