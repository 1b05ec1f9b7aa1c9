"""Referrals: a customer's or evangelist's code and link, the leads captured through it and
their credit, and the NPS question whose promoters are invited to refer.

- A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), made once per
  lead and kept. Only a customer or an evangelist is given one.
- A visitor following a link fills the referral page. The lead is captured through the
  product's own capture path (`leads.capture.ingest.lead_capture`) on the hosted "Referral"
  form of the "Referral programme" campaign, so like any form post it is deduplicated by
  email, records a form_submitted event, and a new lead gets source = referral and that
  campaign as its first. A *new* lead is credited to the referrer (pending,
  settings.REFERRAL_CREDIT) in the same transaction; one that existed before is not, and
  nobody is credited for referring themself.
- Credit is earned when the referred lead becomes a customer. `referrals_follow` learns it
  by reading the stage history (leads.history) with a place of its own, not from whoever
  moved the lead, so no move is missed while a worker is down. An earned referral makes a
  customer referrer an evangelist. Paying out is marked by hand.
- The NPS link carries the lead in a token signed with its own salt (as the email links in
  playbooks.email.tracking do): a changed token is refused, and an answer is recorded once
  per lead and link, as an `nps_answered` event.
"""

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, When
from django.urls import reverse
from django.utils import timezone

from leads.capture.campaigns import campaign_create, campaign_update
from leads.capture.ingest import EventIn, events_ingest, lead_capture
from leads.capture.services import capture_form_create
from leads.history import lead_change_stage, stage_changes_follow
from leads.models import Campaign, CaptureForm, ChangeSource, Channel, Lead, Stage, StageChange
from playbooks.models import Referral, Referrer
from playbooks.referrals.selectors import NPS_EVENT, NpsAnswer, nps_answer, nps_group, nps_key
from smarketing.roles import Role, has_role

Status = Referral.Status

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_ATTEMPTS = 5  # 31^8 codes: a second collision in a row means something else is wrong
MAY_REFER = (Stage.CUSTOMER, Stage.EVANGELIST)

PROGRAMME = "Referral programme"
PROGRAMME_UTM = "referral-programme"
FORM_NAME = "Referral"
FORM_FIELDS = ["first_name", "last_name", "company"]
CONSENT_TEXT = "Keep me informed by email about your product. I can unsubscribe at any time."

READER = "playbooks.referrals"
# Entering either means the lead bought: a person may move a lead straight to evangelist.
BOUGHT = (Stage.CUSTOMER, Stage.EVANGELIST)
EVANGELIST_REASON = "Earned a referral"
PAYERS = (Role.MARKETING, Role.MANAGER)

NPS_SALT = "playbooks.referrals.nps"


class BadToken(Exception):
    """An NPS link that was changed, cut short or made for another purpose."""


# --- Codes and links --------------------------------------------------------------------


def may_refer(lead: Lead) -> bool:
    return lead.stage in MAY_REFER


def referrer_for(lead: Lead) -> Referrer:
    """The lead's referral code, made the first time it is asked for; only a customer or an
    evangelist may have one (ValidationError otherwise)."""
    if not may_refer(lead):
        stage = lead.get_stage_display().lower()
        raise ValidationError(
            {"lead": [f"Only a customer or an evangelist has a referral code; this lead is {stage}."]}
        )
    for _ in range(CODE_ATTEMPTS):
        existing = Referrer.objects.filter(lead=lead).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():  # a savepoint: a clash leaves the caller's transaction usable
                return Referrer.objects.create(lead=lead, code=new_code())
        except IntegrityError:
            continue  # the code was taken, or another request gave this lead its code meanwhile
    raise RuntimeError(f"No free referral code for lead {lead.pk} after {CODE_ATTEMPTS} attempts.")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def referral_url(lead: Lead) -> str:
    """The link a customer or evangelist shares (ValidationError for anyone else)."""
    return _absolute(reverse("referrals:landing", args=[referrer_for(lead).code]))


def nps_url(lead: Lead) -> str:
    """The signed link to the NPS question for this lead. Each link made is its own token (it
    carries the moment it was signed), so a lead asked again later may answer again."""
    token = signing.dumps({"l": lead.pk}, salt=NPS_SALT)
    return _absolute(reverse("referrals:nps", args=[token]))


def nps_lead(token: str) -> Lead | None:
    """The lead an NPS link was made for; None when it is gone. BadToken when changed."""
    try:
        payload = signing.loads(token, salt=NPS_SALT)
    except signing.BadSignature as refused:
        raise BadToken("This link is not valid: it was changed or cut short.") from refused
    if not isinstance(payload, dict) or not isinstance(payload.get("l"), int):
        raise BadToken("This link is not valid.")
    return Lead.objects.filter(pk=payload["l"]).first()


# --- The referral page ------------------------------------------------------------------


def programme_campaign() -> Campaign:
    """The "Referral programme" campaign (channel referral), made the first time it is needed;
    an existing referral campaign with UTM values is used instead.

    Capture credits a post to the campaign whose utm_campaign it carries, so the campaign must
    have one: a campaign of that name made by hand without it is given `referral-programme`.
    """
    campaign = (
        Campaign.objects.filter(utm_campaign=PROGRAMME_UTM).first()
        or Campaign.objects.filter(name__iexact=PROGRAMME).first()
        # An instance that already runs a referral campaign of its own counts referrals there.
        or Campaign.objects.filter(channel=Channel.REFERRAL).exclude(utm_campaign="").order_by("pk").first()
    )
    if campaign is None:
        values = {"utm_source": "referral", "utm_medium": "referral", "utm_campaign": PROGRAMME_UTM}
        try:
            return campaign_create(by=None, name=PROGRAMME, channel=Channel.REFERRAL, **values)
        except ValidationError:  # the first referrals of two visitors at the same moment
            return Campaign.objects.get(utm_campaign=PROGRAMME_UTM)
    if not campaign.utm_campaign:
        campaign = campaign_update(campaign=campaign, by=None, utm_campaign=PROGRAMME_UTM)
    return campaign


def programme_form(campaign: Campaign) -> CaptureForm:
    """The campaign's hosted form the referral page posts through, made by the capture
    services the first time (its submissions are counted on the forms page like any form's)."""
    form = _first_form(campaign)
    if form is not None:
        return form
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()  # one maker at a time
        form = _first_form(campaign)
        if form is None:
            data = {
                "name": FORM_NAME,
                "campaign": campaign,
                "fields": FORM_FIELDS,
                "required_fields": [],
                "consent_text": CONSENT_TEXT,
            }
            form = capture_form_create(data=data, by=None)
    return form


def _first_form(campaign: Campaign) -> CaptureForm | None:
    return CaptureForm.objects.select_related("campaign").filter(campaign=campaign).order_by("created_at", "id").first()


def referral_capture(*, referrer: Referrer, data: Mapping[str, Any]) -> Referral | None:
    """Capture the person a referral link brought (`data`: email, first_name, last_name,
    company, consent) and credit the referrer when the lead is new. Returns the referral, or
    None when nobody is credited: the address was known already, or it is the referrer's own.
    """
    with transaction.atomic():
        campaign = programme_campaign()
        form = programme_form(campaign)
        touch = {
            "utm_source": "referral",
            "utm_medium": "referral",
            "utm_campaign": campaign.utm_campaign,
            "referral_code": referrer.code,
        }
        attributes = {name: data[name] for name in ("email", *FORM_FIELDS) if data.get(name)}
        lead_id, created = lead_capture(form=form, data=attributes, touch=touch, consent=bool(data.get("consent")))
        if not created or lead_id == referrer.lead_id:
            return None
        return Referral.objects.create(referrer=referrer, lead_id=lead_id, credit=settings.REFERRAL_CREDIT)


# --- Credit -----------------------------------------------------------------------------


def referrals_follow() -> int:
    """Earn the credit of referred leads that became customers since this reader last looked,
    and make their referrers evangelists; returns how many stage changes it read."""
    return stage_changes_follow(reader=READER, handle=_credit_buyers)


def _credit_buyers(changes: list[StageChange]) -> None:
    bought: dict[int, datetime] = {}
    for change in changes:
        if change.to_stage in BOUGHT:
            bought.setdefault(change.lead_id, change.changed_at)
    if bought:
        referrals_earn(bought)


def referrals_earn(bought: Mapping[int, datetime]) -> list[int]:
    """Mark earned the pending referrals of these leads (lead id → when it bought); a customer
    whose referral is earned becomes an evangelist. Returns the referrals earned.

    Safe to repeat: only pending referrals change, and only customers move (stages go forward;
    an evangelist stays, and a lead a person has moved elsewhere since is left where it is).
    """
    with transaction.atomic():
        pending = Referral.objects.select_for_update().filter(lead_id__in=list(bought), status=Status.PENDING)
        earned = list(pending.values_list("pk", "lead_id", "referrer__lead_id"))
        if not earned:
            return []
        when = Case(*(When(lead_id=lead_id, then=bought[lead_id]) for _, lead_id, _ in earned))
        Referral.objects.filter(pk__in=[pk for pk, _, _ in earned]).update(status=Status.EARNED, earned_at=when)
        referrers = Lead.objects.select_for_update().filter(
            pk__in={referrer for _, _, referrer in earned}, stage=Stage.CUSTOMER
        )
        for lead in referrers.order_by("pk"):
            lead_change_stage(
                lead=lead, to_stage=Stage.EVANGELIST, source=ChangeSource.SYSTEM, reason=EVANGELIST_REASON
            )
    return [pk for pk, _, _ in earned]


def referral_mark_paid(*, referral: Referral, by: AbstractBaseUser) -> Referral:
    """Record that an earned credit was paid out (by marketing or a manager); only earned → paid."""
    if not has_role(by, *PAYERS):
        raise PermissionDenied("Only marketing and managers mark referral credit paid.")
    # Checked in the update itself: two clicks on "Mark paid" record one payment.
    paid = Referral.objects.filter(pk=referral.pk, status=Status.EARNED).update(
        status=Status.PAID, paid_at=timezone.now(), paid_by=by
    )
    referral.refresh_from_db()
    if not paid:
        state = referral.get_status_display().lower()
        raise ValidationError({"status": [f"Only an earned credit can be marked paid; this one is {state}."]})
    return referral


# --- NPS --------------------------------------------------------------------------------


def nps_record(*, lead: Lead, token: str, score: Any) -> NpsAnswer:
    """Record the lead's answer through the events path (scored like any event); a link
    already answered keeps its first answer, which is returned."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise ValidationError({"score": ["Choose a score from 0 to 10."]})
    answer = NpsAnswer(score=score, group=nps_group(score))
    event = EventIn(
        email=lead.email,
        type=NPS_EVENT,
        occurred_at=timezone.now(),
        idempotency_key=nps_key(lead.pk, token),
        properties={"score": answer.score, "group": answer.group},
    )
    with transaction.atomic():
        if events_ingest(events=[event]).created:
            return answer
    return nps_answer(lead=lead, token=token) or answer
