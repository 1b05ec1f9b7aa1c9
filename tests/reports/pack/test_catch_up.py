"""A weekly build lost with its worker (or its broker message) is made up by beat's hourly
catch-up, and a pack already mailed is neither built nor mailed again."""

from datetime import timedelta

import pytest

from playbooks.models import OutboundEmail
from reports.pack.models import MeetingPack
from reports.pack.services import meeting_pack_build, meeting_pack_catch_up
from tests.reports.pack.conftest import BUILT, W11

pytestmark = pytest.mark.django_db


def test_before_the_packs_hour_the_catch_up_builds_nothing(world, manager):
    assert meeting_pack_catch_up(now=BUILT - timedelta(minutes=30)) is None
    assert not MeetingPack.objects.exists()


def test_a_weekly_build_that_never_ran_is_built_and_mailed_by_the_catch_up(world, manager):
    pack = meeting_pack_catch_up(now=BUILT + timedelta(minutes=30))
    assert pack is not None and pack.week_start == W11
    assert pack.emailed_at is not None
    assert OutboundEmail.objects.count() == 1


def test_a_mailed_pack_is_left_alone_by_the_catch_up(world, manager):
    built = meeting_pack_build(monday=W11, now=BUILT)
    assert meeting_pack_catch_up(now=BUILT + timedelta(minutes=30)) is None
    assert MeetingPack.objects.get().built_at == built.built_at
    assert OutboundEmail.objects.count() == 1


def test_a_pack_built_without_email_is_mailed_by_the_catch_up_once(world, manager):
    meeting_pack_build(monday=W11, now=BUILT - timedelta(days=1), email=False)
    assert meeting_pack_catch_up(now=BUILT + timedelta(hours=2)) is not None
    assert meeting_pack_catch_up(now=BUILT + timedelta(hours=3)) is None
    assert OutboundEmail.objects.count() == 1
