"""Email: templates saved, messages written to the outbox and sent at most once, opens, clicks
and unsubscribes recorded.

A message is an outbox row, written in the transaction that decided to send it, rendered for
its lead and checked against the rules that always hold (playbooks.email.rules): a refused one
is stored as suppressed with its reason. Sending claims a queued row (queued → sending) and
commits before talking to the mail server, then records the outcome: a worker that dies in
between leaves the row "sending", which the sweep marks "outcome unknown" and never retries by
itself, so nobody gets the same email twice.

What happens to a message is also an event on its lead (email_sent, email_suppressed,
email_opened, email_clicked), so the lead's timeline and the scoring rules see it.
"""

import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, Lower
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.models import Lead, normalize_email
from leads.services import lead_unsubscribe
from playbooks.email import rendering, rules, tracking
from playbooks.models import EmailTemplate, OutboundEmail, Suppression, TemplateKind
from smarketing.audit.services import config_changed, config_created, config_snapshot
from smarketing.lib.sql import chunked
from smarketing.lib.tasks import task_send_on_commit

log = logging.getLogger(__name__)

Status = OutboundEmail.Status
SEND_TASK = "email.outbox_send"
SEND_MANY_TASK = "email.outbox_send_many"
SEND_TASK_SIZE = 100
SEND_CHUNK = 5  # claimed at once: at most this many are left "unknown" by a worker killed mid-send
# A queued row the worker has not taken by then (its message lost, the broker down) is sent by
# the sweep; a row "sending" for longer than a send can take has an unknown outcome.
FLUSH_AFTER = timedelta(minutes=1)
SENDING_AT_MOST = timedelta(minutes=10)
FLUSH_BATCH = 200
RENDERED_BATCH = 50  # messages stored per UPDATE: each carries its whole HTML
TEMPLATE_FIELDS = ("name", "kind", "subject", "body")


# --- Templates --------------------------------------------------------------------------


def template_save(
    *, data: dict[str, Any], by: AbstractBaseUser | None, template: EmailTemplate | None = None
) -> EmailTemplate:
    """Create or change a template; every field's refusal at once, keyed by field."""
    cleaned, errors = _template_cleaned(data, template)
    if errors:
        raise ValidationError(errors)
    template = template or EmailTemplate(created_by=by)
    before = config_snapshot(template) if template.pk else None
    for name, value in cleaned.items():
        setattr(template, name, value)
    template.updated_at = timezone.now()
    try:
        with transaction.atomic():
            template.save()
            if before is None:
                config_created(template, by=by)
            else:
                config_changed(template, by=by, before=before)
    except IntegrityError as clash:  # the same name saved at the same moment
        raise ValidationError({"name": ["A template with this name exists."]}) from clash
    return template


def _template_cleaned(
    data: dict[str, Any], template: EmailTemplate | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name in TEMPLATE_FIELDS:
        value = data.get(name, getattr(template, name) if template else "")
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["This field is required."]
            continue
        cleaned[name] = value.strip() if name != "body" else value
    limits = {"name": 120, "subject": 200}
    for name, limit in limits.items():
        if name in cleaned and len(cleaned[name]) > limit:
            errors[name] = [f"Use at most {limit} characters (this has {len(cleaned[name])})."]
    if "kind" in cleaned and cleaned["kind"] not in TemplateKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(TemplateKind.values)}."]
    if "subject" in cleaned and (
        refused := rendering.variables_refusal(cleaned["subject"], allowed=rendering.SUBJECT_VARIABLES)
    ):
        errors["subject"] = [refused]
    if "body" in cleaned and (refused := rendering.variables_refusal(cleaned["body"])):
        errors["body"] = [refused]
    if "name" in cleaned and "name" not in errors:
        same = EmailTemplate.objects.annotate(lower=Lower("name")).filter(lower=cleaned["name"].lower())
        if same.exclude(pk=template.pk if template else None).exists():
            errors["name"] = ["A template with this name exists."]
    return cleaned, errors


def template_preview(*, template: EmailTemplate, lead: Lead) -> rendering.Rendered:
    """The message as this lead would get it; links are left as written, nothing is tracked."""
    return _render(template, lead, email_id=None)


# --- Sending ----------------------------------------------------------------------------


def email_queue(
    *, lead: Lead, template: EmailTemplate, cause: str, events: list[EventIn] | None = None, send: bool = True
) -> OutboundEmail:
    """Write the message for this lead to the outbox, or its refusal with the reason; the
    worker sends it once the caller's transaction commits (unless `send` is False: a caller
    that queues many asks for them together, outbox_send_after_commit). A refusal's event is
    stored at once, or added to `events` for a caller that stores a batch's events together."""
    with transaction.atomic(savepoint=False):  # a caller's transaction is all or nothing already
        refusals: list[EventIn] = []
        [email] = emails_queue(leads=[lead], template=template, cause=cause, events=refusals)
        if refusals and events is None:
            events_ingest(events=refusals)
        elif events is not None:
            events += refusals
        if send and email.status == Status.QUEUED:
            task_send_on_commit(SEND_TASK, email.pk)
    return email


def emails_queue(
    *, leads: Sequence[Lead], template: EmailTemplate, cause: str, events: list[EventIn]
) -> list[OutboundEmail]:
    """email_queue for many leads at once (a playbook step's batch): the rules asked, the rows
    written and the messages stored together, whatever their number; each refusal's event is
    added to `events`. The caller sends the queued ones once its transaction commits."""
    refused = rules.refusals(leads, template.kind)
    emails = OutboundEmail.objects.bulk_create(
        OutboundEmail(
            lead=lead,
            template=template,
            kind=template.kind,
            to_email=lead.email,
            subject=template.subject[:255],
            cause=cause[:120],
            status=Status.SUPPRESSED if refused[lead.pk] else Status.QUEUED,
            reason=refused[lead.pk],
        )
        for lead in leads
    )
    rendered = []
    for email, lead in zip(emails, leads, strict=True):
        if email.status == Status.SUPPRESSED:
            events.append(_event_in(email, "email_suppressed", reason=email.reason))
        else:
            _rendered_onto(email, template, lead)
            rendered.append(email)
    OutboundEmail.objects.bulk_update(rendered, ["subject", "html", "text"], batch_size=RENDERED_BATCH)
    return emails


def email_test_send(*, template: EmailTemplate, lead: Lead, to: AbstractBaseUser) -> OutboundEmail:
    """The message as `lead` would get it, sent to the person trying it (whatever the lead's
    own state: the lead receives nothing)."""
    if not to.email:
        raise ValidationError({"to": ["Your account has no email address: add one to receive test sends."]})
    with transaction.atomic():
        email = OutboundEmail.objects.create(
            lead=lead,
            template=template,
            kind=TemplateKind.TRANSACTIONAL,
            to_email=to.email,
            subject=f"[Test] {template.subject}"[:255],
            cause=f"Test send by {to.get_username()}"[:120],
        )
        # Untracked, with a dead unsubscribe link: what the tester does must not act on the lead.
        _rendered_into(email, template, lead, prefix="[Test] ", tracked=False)
        task_send_on_commit(SEND_TASK, email.pk)
    return email


def colleagues_email_queue(
    *, to: Sequence[str], subject: str, html: str, text: str, cause: str, confidential: bool = False
) -> list[OutboundEmail]:
    """One transactional message per address to people who work here (the weekly meeting pack
    to managers), not to a lead: sent as given (no variables, nothing tracked, no lead's rules);
    like every other message each is an outbox row sent at most once, by the worker once this
    commits. A confidential one (a password-reset link) is for its recipient's eyes only: the
    outbox shows that it was written and sent, never what it says."""
    subject = " ".join(subject.split())
    if confidential:
        cause = OutboundEmail.CONFIDENTIAL + cause
    with transaction.atomic(savepoint=False):
        emails = OutboundEmail.objects.bulk_create(
            OutboundEmail(
                kind=TemplateKind.TRANSACTIONAL,
                to_email=address,
                subject=subject[:255],
                html=html,
                text=text,
                cause=cause[:120],
            )
            for address in to
        )
        outbox_send_after_commit([email.pk for email in emails])
    return emails


def _rendered_into(
    email: OutboundEmail, template: EmailTemplate, lead: Lead, *, prefix: str = "", tracked: bool = True
) -> None:
    _rendered_onto(email, template, lead, prefix=prefix, tracked=tracked)
    email.save(update_fields=["subject", "html", "text"])


def _rendered_onto(
    email: OutboundEmail, template: EmailTemplate, lead: Lead, *, prefix: str = "", tracked: bool = True
) -> None:
    rendered = _render(template, lead, email_id=email.pk if tracked else None)
    email.subject, email.html, email.text = (prefix + rendered.subject)[:255], rendered.html, rendered.text


def _render(template: EmailTemplate, lead: Lead, *, email_id: int | None) -> rendering.Rendered:
    marketing = template.kind != TemplateKind.TRANSACTIONAL
    unsubscribe = tracking.unsubscribe_url(lead.pk, email_id) if email_id else "#unsubscribe"
    used = rendering.variables_used(template.body)
    values = rendering.lead_values(lead, unsubscribe_url=unsubscribe, used=used if email_id else used - {"nps_url"})
    if email_id is None:  # like the unsubscribe link, a preview's or test's NPS link is dead: no answer for the lead
        values["nps_url"] = "#nps"
    footer = ""
    if marketing and "unsubscribe_url" not in used:
        footer = (
            '<p style="font-size:12px;color:#666">You receive this because you asked us to keep in touch. '
            f'<a href="{unsubscribe}">Unsubscribe</a>.</p>'
        )
    if email_id is None:
        return rendering.message_render(subject=template.subject, body=template.body, values=values, footer=footer)
    return rendering.message_render(
        subject=template.subject,
        body=template.body,
        values=values,
        footer=footer,
        link_wrap=lambda url: url if url == unsubscribe else tracking.click_url(email_id, url),
        pixel_url=tracking.open_url(email_id),
    )


def outbox_send(*, email_id: int) -> str:
    """Send one queued message, at most once; returns its status afterwards."""
    with transaction.atomic():
        claimed = OutboundEmail.objects.filter(pk=email_id, status=Status.QUEUED).update(
            status=Status.SENDING, sending_at=timezone.now(), message_id=_message_ids()
        )
    if not claimed:  # sent, refused, or another worker has it
        return OutboundEmail.objects.filter(pk=email_id).values_list("status", flat=True).first() or ""
    email = OutboundEmail.objects.select_related("lead", "template").get(pk=email_id)
    message = _message(email)
    try:
        get_connection(fail_silently=False).send_messages([message])
    except Exception as refused:  # noqa: BLE001 -- any mail server error is the send's outcome
        log.warning("email %s to %s failed: %s", email.pk, email.to_email, refused)
        _finish(email, Status.FAILED, reason="send_error", detail=str(refused)[:2000])
        return Status.FAILED
    _finish(email, Status.SENT, message_id=email.message_id)
    return Status.SENT


def outbox_send_many(*, email_ids: Sequence[int], chunk: int = SEND_CHUNK) -> dict[str, int]:
    """Send these queued messages over one connection, each at most once (a playbook batch's
    sends, the sweep). They go SEND_CHUNK at a time: a chunk is claimed (queued → sending) and
    the claim commits before the mail server is spoken to, then the chunk's outcomes and the
    sent ones' events are stored together. A worker killed mid-chunk leaves at most that
    chunk's messages "sending", which the sweep marks unknown. Rows another worker holds are
    skipped. (The demo, its own worker, sends a week's mail as one chunk.)"""
    counts = {"sent": 0, "failed": 0}
    with get_connection(fail_silently=False) as mail:
        for ids in chunked(list(email_ids), chunk):
            for outcome, n in _chunk_send(mail, ids).items():
                counts[outcome] += n
    return counts


def _chunk_send(mail: Any, email_ids: list[int]) -> dict[str, int]:
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk__in=email_ids, status=Status.QUEUED)
            .values_list("pk", flat=True)
        )
        # The Message-ID is written with the claim, so the outcome is one plain UPDATE for the chunk.
        OutboundEmail.objects.filter(pk__in=ids).update(
            status=Status.SENDING, sending_at=timezone.now(), message_id=_message_ids()
        )
    emails = list(OutboundEmail.objects.select_related("lead", "template").filter(pk__in=ids).order_by("pk"))
    sent: list[OutboundEmail] = []
    failed = 0
    for email in emails:
        message = _message(email)
        try:
            mail.send_messages([message])
        except Exception as refused:  # noqa: BLE001 -- any mail server error is the send's outcome
            log.warning("email %s to %s failed: %s", email.pk, email.to_email, refused)
            _finish(email, Status.FAILED, reason="send_error", detail=str(refused)[:2000])
            failed += 1
            continue
        sent.append(email)
    with transaction.atomic():
        OutboundEmail.objects.filter(pk__in=[e.pk for e in sent]).update(status=Status.SENT, sent_at=timezone.now())
        marketing = [_event_in(email, "email_sent") for email in sent if email.kind != TemplateKind.TRANSACTIONAL]
        if marketing:
            events_ingest(events=marketing)
    return {"sent": len(sent), "failed": failed}


def outbox_send_after_commit(email_ids: Sequence[int]) -> None:
    """Ask the worker to send these messages, in tasks of SEND_TASK_SIZE, once this
    transaction commits (a playbook batch's emails: one task and connection each, not one per
    message)."""
    for chunk in chunked(list(email_ids), SEND_TASK_SIZE):
        task_send_on_commit(SEND_MANY_TASK, chunk)


def _message_ids() -> Concat:
    """Each claimed row's Message-ID, <pk.claim@domain>: unique per message and claim."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or str(DNS_NAME)
    claim = secrets.token_hex(8)
    return Concat(Value("<"), Cast("pk", CharField()), Value(f".{claim}@{domain}>"), output_field=CharField())


def _message(email: OutboundEmail) -> EmailMultiAlternatives:
    headers = {"Message-ID": email.message_id}  # written when the message was claimed
    if email.kind != TemplateKind.TRANSACTIONAL:
        # RFC 8058: a mail client's "unsubscribe" button POSTs List-Unsubscribe=One-Click here.
        headers["List-Unsubscribe"] = f"<{tracking.unsubscribe_url(email.lead_id, email.pk)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to_email],
        headers=headers,
    )
    message.attach_alternative(email.html, "text/html")
    return message


def _finish(email: OutboundEmail, status: str, *, reason: str = "", detail: str = "", message_id: str = "") -> None:
    with transaction.atomic():
        now = timezone.now()
        OutboundEmail.objects.filter(pk=email.pk, status=Status.SENDING).update(
            status=status,
            reason=reason,
            detail=detail,
            message_id=message_id,
            sent_at=now if status == Status.SENT else None,
        )
        if status == Status.SENT and email.kind != TemplateKind.TRANSACTIONAL:
            _event(email, "email_sent")


def outbox_flush(*, now: Any = None) -> dict[str, int]:
    """Beat, every minute: send what the worker never got (a lost message, a broker that was
    down), and mark sends that never finished as "outcome unknown" (not retried by itself)."""
    now = now or timezone.now()
    stuck = OutboundEmail.objects.filter(status=Status.SENDING, sending_at__lt=now - SENDING_AT_MOST)
    unknown = stuck.update(
        status=Status.UNKNOWN, reason="interrupted", detail="The send was interrupted; it may or may not have arrived."
    )
    waiting = OutboundEmail.objects.filter(status=Status.QUEUED, created_at__lt=now - FLUSH_AFTER).order_by(
        "created_at"
    )
    sent = outbox_send_many(email_ids=list(waiting.values_list("pk", flat=True)[:FLUSH_BATCH]))["sent"]
    return {"unknown": unknown, "sent": sent}


def outbox_retry(*, email: OutboundEmail) -> OutboundEmail:
    """Someone decided a failed or unknown send should go again (by hand only)."""
    # Checked in the update itself: two clicks on "Send again" queue the message once.
    retried = OutboundEmail.objects.filter(pk=email.pk, status__in=[Status.FAILED, Status.UNKNOWN]).update(
        status=Status.QUEUED, reason="", detail="", sending_at=None
    )
    if not retried:
        email.refresh_from_db()
        status = email.get_status_display().lower()
        raise ValidationError({"status": [f"Only a failed or unknown send can be retried; this one is {status}."]})
    task_send_on_commit(SEND_TASK, email.pk)
    email.refresh_from_db()
    return email


# --- What recipients do -----------------------------------------------------------------


def email_opened(*, token: str) -> None:
    """The open pixel was loaded: the first open is recorded (and becomes an event)."""
    email = _tracked(tracking.opened(token))
    if email is None:
        return
    if OutboundEmail.objects.filter(pk=email.pk, opened_at=None).update(opened_at=timezone.now()):
        _event(email, "email_opened")


def email_clicked(*, token: str) -> str:
    """A link in a message was followed: recorded once per link; returns where it leads."""
    click = tracking.clicked(token)
    email = _tracked(click.email_id)
    if email is not None:
        now = timezone.now()
        OutboundEmail.objects.filter(pk=email.pk, clicked_at=None).update(clicked_at=now)
        OutboundEmail.objects.filter(pk=email.pk, opened_at=None).update(opened_at=now)  # a click means it was read
        link = hashlib.sha256(click.url.encode()).hexdigest()[:16]
        _event(email, "email_clicked", key=f"email-{email.pk}-clicked-{link}", url=click.url)
    return click.url


def unsubscribe_lead(*, token: str) -> Lead | None:
    """The unsubscribe link or a mail client's one-click button; None when the lead is gone."""
    lead_id, _ = tracking.unsubscribing(token)
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is not None:
        lead_unsubscribe(lead=lead)
    return lead


def unsubscribe_target(*, token: str) -> Lead | None:
    lead_id, _ = tracking.unsubscribing(token)
    return Lead.objects.filter(pk=lead_id).first()


def address_suppress(*, email: str, reason: str, detail: str = "") -> Suppression:
    """Never mail this address again (a hard bounce, a complaint, or by hand)."""
    address = normalize_email(email)
    suppression, _ = Suppression.objects.get_or_create(
        email=address, defaults={"reason": reason, "detail": detail[:255]}
    )
    return suppression


def _tracked(email_id: int) -> OutboundEmail | None:
    return OutboundEmail.objects.select_related("lead", "template").filter(pk=email_id).first()


def _event(email: OutboundEmail, kind: str, *, key: str = "", **properties: Any) -> None:
    events_ingest(events=[_event_in(email, kind, key=key, **properties)])


def _event_in(email: OutboundEmail, kind: str, *, key: str = "", **properties: Any) -> EventIn:
    template = email.template.name if email.template_id and email.template else ""
    return EventIn(
        email=email.lead.email,
        type=kind,
        occurred_at=timezone.now(),
        idempotency_key=key or f"email-{email.pk}-{kind.removeprefix('email_')}",
        properties={"email_id": email.pk, "template": template, "subject": email.subject, **properties},
    )
