"""Fixtures for outgoing webhooks: a receiver running for the test, the allow-list naming 127.0.0.1."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.playbooks.outgoing.receiver import SECRET, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def loopback_allowed(settings: Any) -> Any:
    """The allow-list names 127.0.0.1, as it would for an on-premises receiver; a known secret."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_SIGNING_SECRET = SECRET
    return settings
