"""A meeting pack of ISO week 2026-W11 (9–15 March 2026) over win/loss's hand-built March
(tests/reports/winloss/world.py), so its figures can be checked by hand."""

from datetime import date, datetime

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from reports.pack.models import MeetingPack
from reports.pack.services import meeting_pack_build
from tests.reports.winloss.world import World, build_world

W11 = date(2026, 3, 9)
BUILT = datetime(2026, 3, 16, 8, tzinfo=timezone.get_current_timezone())  # the Monday after, 08:00


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def manager(manager: User) -> User:
    manager.email = "mona@example.com"
    manager.save(update_fields=["email"])
    return manager


@pytest.fixture
def pack(world: World, manager: User) -> MeetingPack:
    return meeting_pack_build(monday=W11, now=BUILT)


@pytest.fixture
def empty_pack(db: None) -> MeetingPack:
    """W11's pack over an empty database: for what does not look at its figures (refusals)."""
    return meeting_pack_build(monday=W11, now=BUILT, email=False)
