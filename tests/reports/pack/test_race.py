"""Builds of one week at the same moment (beat's, a retry's, a manager's) leave one pack and one
email per manager. PostgreSQL only: SQLite runs one writer at a time, so there is no race."""

import threading

import pytest
from django.db import connection

from conftest import make_user
from playbooks.models import OutboundEmail
from reports.pack.models import MeetingPack
from reports.pack.services import meeting_pack_build
from smarketing.roles import Role
from tests.reports.pack.conftest import BUILT, W11

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
]

BUILDERS = 6


def test_builds_of_the_same_week_at_once_leave_one_pack_and_one_email():
    make_user("mona", Role.MANAGER, email="mona@example.com")
    start = threading.Barrier(BUILDERS)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            start.wait()
            meeting_pack_build(monday=W11, now=BUILT)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=build) for _ in range(BUILDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert MeetingPack.objects.filter(week_start=W11).count() == 1
    assert list(OutboundEmail.objects.values_list("to_email", flat=True)) == ["mona@example.com"]
