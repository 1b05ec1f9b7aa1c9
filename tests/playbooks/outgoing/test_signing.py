"""The webhook signature as a receiver checks it: HMAC-SHA256 over "<timestamp>." and the raw
body, five minutes' tolerance, and a secret that always exists."""

import hashlib
import hmac
from datetime import UTC, datetime

from playbooks.outgoing.signing import signature_headers, signature_valid, signing_secret

BODY = b'{"event": "playbook.step", "id": 7}'
STAMP = 1_767_225_600


def test_the_headers_carry_the_timestamp_and_an_hmac_of_timestamp_dot_body():
    headers = signature_headers(BODY, secret="s3cret", timestamp=STAMP)
    expected = hmac.new(b"s3cret", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert headers == {"X-Smarketing-Timestamp": "1767225600", "X-Smarketing-Signature": f"v1={expected}"}


def test_a_receiver_accepts_the_signature_within_five_minutes_and_refuses_it_after():
    headers = signature_headers(BODY, secret="s3cret", timestamp=STAMP)
    assert signature_valid(BODY, headers, secret="s3cret", now=STAMP + 299)
    assert signature_valid(BODY, headers, secret="s3cret", now=STAMP - 299)  # a receiver's clock behind ours
    assert signature_valid(BODY, headers, secret="s3cret", now=datetime.fromtimestamp(STAMP + 60, tz=UTC))
    assert not signature_valid(BODY, headers, secret="s3cret", now=STAMP + 301)
    assert not signature_valid(BODY, headers, secret="s3cret", now=STAMP + 10, tolerance=5)


def test_a_changed_body_timestamp_or_secret_is_refused():
    headers = signature_headers(BODY, secret="s3cret", timestamp=STAMP)
    assert not signature_valid(BODY + b" ", headers, secret="s3cret", now=STAMP)
    assert not signature_valid(BODY, headers, secret="other", now=STAMP)
    moved = {**headers, "X-Smarketing-Timestamp": str(STAMP + 1)}
    assert not signature_valid(BODY, moved, secret="s3cret", now=STAMP)


def test_header_names_in_any_case_and_several_signatures_are_understood():
    headers = signature_headers(BODY, secret="new", timestamp=STAMP)
    old = signature_headers(BODY, secret="old", timestamp=STAMP)["X-Smarketing-Signature"]
    lowered = {
        "x-smarketing-timestamp": headers["X-Smarketing-Timestamp"],
        "x-smarketing-signature": f"{old}, {headers['X-Smarketing-Signature']}",
    }
    assert signature_valid(BODY, lowered, secret="new", now=STAMP)
    assert signature_valid(BODY, lowered, secret="old", now=STAMP)


def test_missing_or_malformed_headers_are_refused_not_crashed_on():
    good = signature_headers(BODY, secret="s", timestamp=STAMP)
    for headers in (
        {},
        {"X-Smarketing-Signature": good["X-Smarketing-Signature"]},
        {**good, "X-Smarketing-Timestamp": "soon"},
        {**good, "X-Smarketing-Timestamp": "١٧٦٧٢٢٥٦٠٠"},  # digits, but not ASCII ones
        {**good, "X-Smarketing-Signature": good["X-Smarketing-Signature"].removeprefix("v1=")},
        {**good, "X-Smarketing-Signature": "v1=é"},
    ):
        assert not signature_valid(BODY, headers, secret="s", now=STAMP)


def test_without_a_setting_the_secret_is_derived_from_secret_key_and_follows_it(settings):
    settings.WEBHOOK_SIGNING_SECRET = ""
    settings.SECRET_KEY = "first-key-" + "x" * 40
    first = signing_secret()
    settings.SECRET_KEY = "second-key-" + "x" * 40
    second = signing_secret()
    assert len(first) == 64 and first != second and settings.SECRET_KEY not in (first, second)
    settings.WEBHOOK_SIGNING_SECRET = "shared-with-the-receiver"
    assert signing_secret() == "shared-with-the-receiver"
