"""The signature on every outgoing webhook, and how a receiver checks it.

Each request carries two headers:

    X-Smarketing-Timestamp: 1767225600
    X-Smarketing-Signature: v1=<hex HMAC-SHA256 of b"1767225600." + the raw body>

keyed with the signing secret (`settings.WEBHOOK_SIGNING_SECRET`). A receiver:
1. reads the raw request body as bytes, before any JSON parsing (a re-serialised body differs);
2. computes HMAC-SHA256 over the timestamp, a dot and that body, with the shared secret;
3. compares it in constant time (`hmac.compare_digest`) with each `v1=` value of the signature
   header (comma-separated: there may be more than one);
4. refuses a timestamp more than 5 minutes from its own clock, so a captured request cannot be
   replayed later; within those minutes the body's `id` tells a repeat (a retry, or a replay)
   from a new delivery.

In Python that is `signature_valid(body, request.headers, secret=…, now=time.time())`.

The secret is `WEBHOOK_SIGNING_SECRET` when set. Without it the product derives one from
SECRET_KEY (an HMAC of a fixed purpose string, as Django derives its other keys), so there is
always one, but it changes whenever SECRET_KEY does: set it explicitly before sharing it with a
receiver. `manage.py shell -c "from playbooks.outgoing.signing import signing_secret;
print(signing_secret())"` shows the one in force.
"""

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.utils.crypto import salted_hmac

TIMESTAMP_HEADER = "X-Smarketing-Timestamp"
SIGNATURE_HEADER = "X-Smarketing-Signature"
TOLERANCE = 300  # seconds a receiver accepts between the timestamp and its own clock
VERSION = "v1"


def signing_secret() -> str:
    """The secret in force: the setting, or one derived from SECRET_KEY."""
    if settings.WEBHOOK_SIGNING_SECRET:
        return settings.WEBHOOK_SIGNING_SECRET
    return salted_hmac("playbooks.outgoing.signing", "webhook signing secret", algorithm="sha256").hexdigest()


def signature(body: bytes, *, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The two headers that let a receiver check `body` came from us, unchanged, recently."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{VERSION}={signature(body, secret=secret, timestamp=timestamp)}",
    }


def signature_valid(
    body: bytes, headers: Mapping[str, str], *, secret: str, now: float | datetime, tolerance: int = TOLERANCE
) -> bool:
    """Whether `headers` sign `body` with `secret` at a time within `tolerance` seconds of `now`
    (a Unix time or an aware datetime); header names in any case."""
    given = {name.lower(): value for name, value in headers.items()}
    stamp = given.get(TIMESTAMP_HEADER.lower(), "")
    if not re.fullmatch(r"[0-9]{1,12}", stamp):
        return False
    moment = now.timestamp() if isinstance(now, datetime) else now
    if abs(moment - int(stamp)) > tolerance:
        return False
    expected = signature(body, secret=secret, timestamp=int(stamp)).encode()
    offered = [part.strip() for part in given.get(SIGNATURE_HEADER.lower(), "").split(",")]
    return any(
        hmac.compare_digest(expected, part.removeprefix(f"{VERSION}=").encode())
        for part in offered
        if part.startswith(f"{VERSION}=")
    )
