"""Reads for referrals: a code's referrer, the referrers with their credit summed by status,
the referrals themselves (pages and API), and what a lead answered to an NPS link."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from leads.models import Event, Lead
from playbooks.models import Referral, Referrer

Status = Referral.Status
NPS_EVENT = "nps_answered"
ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=12, decimal_places=2))


def referrer_by_code(code: str) -> Referrer | None:
    """The referrer a link names; codes are shown in capitals, so a typed lowercase one matches."""
    code = code.strip().upper()
    if not code or len(code) > Referrer._meta.get_field("code").max_length:
        return None
    if not (code.isascii() and code.isalnum()):  # no code has anything else (PostgreSQL refuses a NUL)
        return None
    return Referrer.objects.select_related("lead").filter(code=code).first()


def _credit(status: str) -> Coalesce:
    return Coalesce(Sum("referrals__credit", filter=Q(referrals__status=status)), ZERO)


def referrers_list(*, search: str = "", status: str = "") -> QuerySet[Referrer]:
    """Referrers, newest first, each with its lead, how many it referred and its credit by
    status, in one grouped query. `status` keeps the referrers with a referral in it; `search`
    matches a code exactly or words in the lead's name or email."""
    rows = Referrer.objects.select_related("lead").annotate(
        referred=Count("referrals"),
        pending=_credit(Status.PENDING),
        earned=_credit(Status.EARNED),
        paid=_credit(Status.PAID),
    )
    if status:
        # Exists, not a join: the sums above stay over all of the referrer's referrals.
        rows = rows.filter(Exists(Referral.objects.filter(referrer=OuterRef("pk"), status=status)))
    for word in search.split()[:5]:
        rows = rows.filter(
            Q(code=word.upper())
            | Q(lead__email__icontains=word)
            | Q(lead__first_name__icontains=word)
            | Q(lead__last_name__icontains=word)
        )
    return rows.order_by("-created_at", "-id")


def referrals_by_referrer(referrer_ids: Iterable[int], *, status: str = "") -> dict[int, list[Referral]]:
    """The referrals of these referrers (in `status` if given), newest first, in one query."""
    rows = Referral.objects.filter(referrer_id__in=list(referrer_ids)).select_related("lead", "paid_by")
    if status:
        rows = rows.filter(status=status)
    grouped: dict[int, list[Referral]] = defaultdict(list)
    for referral in rows.order_by("-created_at", "-id"):
        grouped[referral.referrer_id].append(referral)
    return grouped


def credit_totals() -> dict[str, Decimal]:
    """Every referral's credit summed by status (and how many there are), in one query."""
    sums = {status: Coalesce(Sum("credit", filter=Q(status=status)), ZERO) for status in Status.values}
    return Referral.objects.aggregate(count=Count("id"), **sums)


def referrals_list(*, status: str = "") -> QuerySet[Referral]:
    """Referrals newest first with their referrer's code and the referred lead (the API's list)."""
    rows = Referral.objects.select_related("referrer", "lead", "paid_by").only(
        "id",
        "status",
        "credit",
        "created_at",
        "earned_at",
        "paid_at",
        "referrer__code",
        "lead__id",
        "lead__email",
        "paid_by__username",
    )
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def referral_for_payment(pk: int) -> Referral:
    return get_object_or_404(Referral.objects.select_related("referrer__lead", "lead", "paid_by"), pk=pk)


# --- NPS --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsAnswer:
    score: int
    group: str  # promoter, passive or detractor


def nps_group(score: int) -> str:
    """Promoters answer 9-10, passives 7-8, detractors 0-6."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


def nps_key(lead_id: int, token: str) -> str:
    """One answer per lead and link: a second submit of the same link is the same event."""
    return f"nps-{lead_id}-{hashlib.sha256(token.encode()).hexdigest()[:24]}"


def nps_answer(*, lead: Lead, token: str) -> NpsAnswer | None:
    """What the lead answered through this link, if it has (read by the event's unique key)."""
    properties = (
        Event.objects.filter(idempotency_key=nps_key(lead.pk, token), lead=lead)
        .values_list("properties", flat=True)
        .first()
    )
    if not isinstance(properties, dict) or not isinstance(properties.get("score"), int):
        return None
    return NpsAnswer(score=properties["score"], group=nps_group(properties["score"]))
