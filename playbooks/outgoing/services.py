"""Outgoing webhooks: a delivery row written with the step that calls it, POSTed signed after
commit, retried with backoff until the receiver answers 2xx or it gives up.

Delivery is at least once. An attempt is claimed first (attempts + 1, the row leased for
LEASE so no other worker takes it) and committed before the POST; the outcome is recorded
after. A worker that dies between the POST and the record leaves the row pending, and the sweep
sends it again once the lease runs out, so a receiver may see the same delivery twice: the body's
`id` (the delivery's) is the same each time, and receivers dedupe on it. Each attempt is signed
afresh (signing.py), so its timestamp is that attempt's.

Every attempt checks the URL again (safety.py) and connects to the address it checked. A URL
that has become unsafe (the allow-list changed, the name now resolves to a private address) is
refused without a connection and the delivery fails at once; a name that does not resolve is
retried like any other failure.
"""

import http.client
import json
import logging
import random
import socket
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from playbooks.models import Enrollment, WebhookDelivery
from playbooks.outgoing import safety
from playbooks.outgoing.signing import signature_headers, signing_secret
from smarketing.lib.tasks import task_send_on_commit

log = logging.getLogger(__name__)

Status = WebhookDelivery.Status
DELIVER_TASK = "outgoing.webhook_deliver"
# The wait after each failed attempt (then up to a fifth more, so retries of many deliveries to
# one receiver that was down do not arrive together); the attempt after the last wait is the last.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
# Longer than an attempt can take (pinned_post's deadline), so a lease runs out only when its
# worker is gone.
LEASE = timedelta(minutes=5)
TIMEOUT = 10.0  # seconds for the connection and each read
DEADLINE = 30.0  # seconds for the whole attempt
SWEEP_BATCH = 100
RESERVED_KEYS = {"id", "sent_at"}


def webhook_step_errors(step: dict[str, Any], *, resolve: safety.Resolve = socket.getaddrinfo) -> dict[str, list[str]]:
    """A webhook step's refusals by field ({} when it may be saved): the URL must be one that
    may be called now (safety.url_refusal, which looks the name up)."""
    url = step.get("url")
    if not isinstance(url, str) or not url.strip():
        return {"url": ["Enter the receiver's address (https://…)."]}
    if refused := safety.url_refusal(url, resolve=resolve):
        return {"url": [refused]}
    return {}


def webhook_queue(*, url: str, payload: dict[str, Any], enrollment: Enrollment | None = None) -> WebhookDelivery:
    """Write the delivery in the caller's transaction; it is sent once that commits.

    The body is `payload` with the delivery's `id` and `sent_at` (when the step ran) added, as
    JSON with sorted keys; it is fixed here, so every attempt sends the same bytes.
    """
    if clash := RESERVED_KEYS & payload.keys():
        raise ValueError(f"The payload may not set {', '.join(sorted(clash))}: the delivery adds them.")
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            enrollment=enrollment, url=url, body="", created_at=now, next_attempt_at=now
        )
        delivery.body = json.dumps(
            {**payload, "id": delivery.pk, "sent_at": now.isoformat()}, sort_keys=True, cls=DjangoJSONEncoder
        )
        delivery.save(update_fields=["body"])
        task_send_on_commit(DELIVER_TASK, delivery.pk)
    return delivery


def webhook_deliver(
    *, delivery_id: int, now: datetime | None = None, resolve: safety.Resolve = socket.getaddrinfo
) -> str:
    """Make one attempt if the delivery is pending and due; returns its status afterwards
    ("pending" again when a retry is scheduled, or when it was not due)."""
    delivery = _claim(now or timezone.now(), pk=delivery_id)
    if delivery is None:
        return WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or ""
    if delivery.status != Status.PENDING:
        return delivery.status
    return _attempt(delivery, now, resolve)


def webhooks_due_send(*, now: datetime | None = None, resolve: safety.Resolve = socket.getaddrinfo) -> int:
    """Beat, every minute: attempt the deliveries whose time has come (retries, and first
    attempts whose task was lost), up to SWEEP_BATCH; returns how many were attempted.

    Each is claimed on its own (FOR UPDATE SKIP LOCKED), so sweeps and workers running at the
    same time never take the same delivery, and the next tick goes on where this one stopped.
    """
    attempted = 0
    while attempted < SWEEP_BATCH:
        delivery = _claim(now or timezone.now())
        if delivery is None:
            break
        if delivery.status == Status.PENDING:
            _attempt(delivery, now, resolve)
            attempted += 1
    return attempted


# --- One attempt ---------------------------------------------------------------------------


def _claim(now: datetime, *, pk: int | None = None) -> WebhookDelivery | None:
    """Take a due pending delivery for one attempt: counted and leased, committed before the POST."""
    with transaction.atomic():
        due = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
            status=Status.PENDING, next_attempt_at__lte=now
        )
        if pk is not None:
            due = due.filter(pk=pk)
        delivery = due.order_by("next_attempt_at", "pk").first()
        if delivery is None:
            return None
        if delivery.attempts >= MAX_ATTEMPTS:  # the last attempt's worker died before recording it
            delivery.status = Status.FAILED
            delivery.last_error = f"Gave up after {delivery.attempts} attempts (the last one was interrupted)."
            delivery.save(update_fields=["status", "last_error"])
            return delivery
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _attempt(delivery: WebhookDelivery, now: datetime | None, resolve: safety.Resolve) -> str:
    try:
        target = safety.url_target(delivery.url, resolve=resolve)
    except safety.Unresolved as failed:
        return _failed(delivery, now, error=str(failed))
    except safety.UnsafeURL as refused:
        return _record(delivery, Status.FAILED, error=f"Refused, not sent: {refused}")
    body = delivery.body.encode()
    stamp = int((now or timezone.now()).timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "smarketing-webhooks",
        "Connection": "close",
        **signature_headers(body, secret=signing_secret(), timestamp=stamp),
    }
    try:
        reply = safety.pinned_post(target, body, headers, timeout=TIMEOUT, deadline=DEADLINE)
    except (OSError, http.client.HTTPException) as failed:
        return _failed(delivery, now, error=f"{type(failed).__name__}: {failed}")
    if 200 <= reply.status < 300:
        return _record(delivery, Status.DELIVERED, code=reply.status, delivered_at=now or timezone.now())
    if 300 <= reply.status < 400:
        error = f"Redirected ({reply.status}) to {reply.location or 'nowhere'}: redirects are not followed."
    else:
        error = f"HTTP {reply.status} {reply.reason}".strip()
    return _failed(delivery, now, error=error, code=reply.status)


def _failed(delivery: WebhookDelivery, now: datetime | None, *, error: str, code: int | None = None) -> str:
    log.warning("webhook delivery %s to %s, attempt %s: %s", delivery.pk, delivery.url, delivery.attempts, error)
    if delivery.attempts >= MAX_ATTEMPTS:
        return _record(delivery, Status.FAILED, code=code, error=f"{error} (gave up after {delivery.attempts})")
    wait = BACKOFF[delivery.attempts - 1] * random.uniform(1, 1.2)  # noqa: S311 -- spreads retries, guards nothing
    return _record(delivery, Status.PENDING, code=code, error=error, next_attempt_at=(now or timezone.now()) + wait)


def _record(
    delivery: WebhookDelivery,
    status: str,
    *,
    code: int | None = None,
    error: str = "",
    delivered_at: datetime | None = None,
    next_attempt_at: datetime | None = None,
) -> str:
    """The attempt's outcome, written only if the row is still this attempt's (a worker that
    outlived its lease does not overwrite the next attempt)."""
    changes: dict[str, Any] = {"status": status, "last_status_code": code, "last_error": error[:300]}
    if delivered_at is not None:
        changes["delivered_at"] = delivered_at
    if next_attempt_at is not None:
        changes["next_attempt_at"] = next_attempt_at
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING, attempts=delivery.attempts).update(**changes)
    return status
