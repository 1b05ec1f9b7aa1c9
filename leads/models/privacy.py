"""A lead's erasure at its owner's request, and the addresses that may never be captured again.

An erased address is kept only as a keyed hash (HMAC-SHA256 with the instance's SECRET_KEY): a
copy of the database alone cannot tell whose addresses they are, yet every capture path can
ask whether an incoming address is one of them.
"""

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models.core import Lead, normalize_email

# What an erased lead's email becomes: unique per lead (the column is), and a domain that
# by RFC 2606 can never receive mail.
ERASED_DOMAIN = "erased.invalid"

# What every capture path that may answer says when it refuses an erased address.
ERASED_REFUSAL = "This address was erased at its owner's request: it may not be captured again."


def erased_placeholder(lead_id: int) -> str:
    return f"erased-{lead_id}@{ERASED_DOMAIN}"


def _keys() -> list[str]:
    # Old keys still match after a rotation, while they stay in SECRET_KEY_FALLBACKS.
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def address_digest(email: str, *, key: str | None = None) -> str:
    """The keyed hash an erased address is kept as (normalized first, as leads are)."""
    secret = (key or settings.SECRET_KEY).encode()
    return hmac.new(secret, b"smarketing.erased-address|" + normalize_email(email).encode(), hashlib.sha256).hexdigest()


class ErasedAddressQuerySet(models.QuerySet):
    def among(self, emails: Iterable[str]) -> set[str]:
        """Which of these addresses (normalized) were erased: one query, however many. An erased
        lead's placeholder counts too, so nothing can be captured onto the erased lead."""
        addresses = {normalize_email(email) for email in emails}
        placeholders = {address for address in addresses if address.endswith("@" + ERASED_DOMAIN)}
        by_digest = {
            address_digest(address, key=key): address for address in addresses - placeholders for key in _keys()
        }
        if not by_digest:
            return placeholders
        found = self.filter(digest__in=list(by_digest)).values_list("digest", flat=True)
        return placeholders | {by_digest[digest] for digest in found}


class LeadErasure(models.Model):
    """Who erased a lead's personal data, and when. The lead row stays, with its aggregates."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="erasure")
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_at = models.DateTimeField(default=timezone.now)
    # What was scrubbed, per kind of row ({"events": 12, "activities": 3, …}), for the record.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"lead {self.lead_id} erased {self.erased_at:%Y-%m-%d %H:%M}"


class ErasedAddress(models.Model):
    """An address whose owner asked to be erased: refused by every capture path, never emailed."""

    digest = models.CharField(max_length=64, unique=True, help_text="HMAC-SHA256 of the normalized address.")
    erasure = models.ForeignKey(LeadErasure, null=True, blank=True, on_delete=models.SET_NULL, related_name="addresses")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ErasedAddressQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "erased addresses"

    def __str__(self) -> str:
        return self.digest[:12]
