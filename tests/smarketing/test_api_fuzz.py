"""Every API operation in the schema, fuzzed as each role and anonymously (schemathesis).

The schema is the one the app serves at /api/schema/, loaded through its WSGI handler (no
network). For every operation and every caller (marketer, rep, manager, anonymous), schemathesis
draws requests from the schema and each response must: not be a 5xx, have a status, content type,
headers and body that the schema documents for that operation.

The requests touch real objects: one small company's month (`tests.browser.pages_world`, made
through the product's services) is built once for the module, and a path's id is most often
that world's lead, campaign, deal, list… Each request runs inside a savepoint that is rolled
back after it, so writes (POST, PATCH, DELETE) are included and every request meets the same
world. Stateful sequences (create, then use what was created) are left to the
API's own tests: they need links between operations, which the schema does not declare.

Bounded to fit CI (it runs on SQLite and on PostgreSQL): a few examples per operation and
caller, drawn deterministically so a run is reproducible. SMARKETING_FUZZ_EXAMPLES=100 draws
more, SMARKETING_FUZZ_COVERAGE=1 adds schemathesis' boundary values, for a longer run by hand.
"""

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leads.models import HandoffStatus, Lead, Stage
from reports.pack.selectors import week_monday
from reports.pack.services import meeting_pack_build
from tests.browser.pages_world import World, build_world

EXAMPLES = int(os.environ.get("SMARKETING_FUZZ_EXAMPLES", "5"))  # per operation and caller
# A request that takes longer than this on a world of a few dozen leads is a bug in itself.
DEADLINE = timedelta(seconds=float(os.environ.get("SMARKETING_FUZZ_DEADLINE", "5")))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CALLERS = ["marketer", "rep", "manager", "anonymous"]

app = WSGIHandler()


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
# The coverage phase (every parameter's boundary values) adds hundreds of requests an operation.
schema.config.phases.coverage.enabled = os.environ.get("SMARKETING_FUZZ_COVERAGE") == "1"
schema.config.generation.update(
    max_examples=EXAMPLES, deterministic=True, no_shrink=True, with_security_parameters=False, database="none"
)


@dataclass(frozen=True)
class Fuzzed:
    tokens: dict[str, str]  # each caller's API token
    ids: dict[str, Any]  # the world's object for a path's first segment, or a parameter's name


@pytest.fixture(scope="module")
def fuzzed(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """The world, built once for the module and committed (on PostgreSQL the history's readers
    hand leads to sales only from committed rows), then emptied as a transactional test leaves
    the database. Each test runs in a transaction of its own, each request in a savepoint; the
    requests keep the connection, as Django's test client does, since closing it would lose both."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock():
            try:
                ids = world_ids(build_world())
                yield Fuzzed(tokens=tokens(), ids=ids)
            finally:
                call_command("flush", interactive=False, verbosity=0)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        media.disable()


def tokens() -> dict[str, str]:
    """The world's marketer, rep and manager, each with a token (anonymous has none)."""
    return {user.username: Token.objects.create(user=user).key for user in User.objects.filter(username__in=CALLERS)}


def world_ids(world: World) -> dict[str, Any]:
    last_week = week_monday(timezone.localdate()) - timedelta(days=7)
    pack = meeting_pack_build(monday=last_week, email=False)
    # A lead the rep holds and has not yet decided on, for accept, reject and recycle to succeed.
    undecided = Lead.objects.filter(
        handoff__status=HandoffStatus.ASSIGNED, handoff__assigned_to__username="rep", stage__in=[Stage.MQL, Stage.SQL]
    ).first()
    return {
        **{f"/api/v1/leads/{{id}}/{verdict}/": undecided.pk for verdict in ("accept", "reject", "recycle")},
        "leads": world.lead,  # the rep's own, with an open deal
        "campaigns": world.campaign,
        "deals": world.deal,
        "email-templates": world.email_template,
        "lists": world.lead_list,
        "referrals": world.referral,
        "playbooks": world.playbook,
        "teams": world.team,
        "assignment-rules": world.assignment_rule,
        "cost_pk": world.cost,
        "rep_id": User.objects.get(username="rep").pk,
        "form_key": world.form_key,
        "week": pack.week,
    }


def with_real_ids(case: Any, ids: dict[str, Any]) -> None:
    """Most of the time a path parameter names the world's object (three draws in four, chosen
    by the drawn value so that a run is reproducible); the rest keep what was drawn: unknown ids."""
    first_segment = case.operation.path.split("/")[3]
    for name, drawn in (case.path_parameters or {}).items():
        real = ids.get(case.operation.path, ids.get(first_segment)) if name == "id" else ids.get(name)
        if real is not None and zlib.crc32(str(drawn).encode()) % 4:
            case.path_parameters[name] = real


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
@schema.parametrize()
@settings(deadline=DEADLINE, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case: Any, caller: str, fuzzed: Fuzzed) -> None:
    with_real_ids(case, fuzzed.ids)
    headers = {"Authorization": f"Token {fuzzed.tokens[caller]}"} if caller in fuzzed.tokens else {}
    with transaction.atomic():  # a savepoint: each request meets the same world
        case.call_and_validate(headers=headers, checks=CHECKS)
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS[:-1])
def test_each_caller_is_who_its_token_says(caller: str, fuzzed: Fuzzed) -> None:
    """Else every operation would be fuzzed anonymously, and pass on its 401s."""
    response = Client(HTTP_AUTHORIZATION=f"Token {fuzzed.tokens[caller]}").get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == caller
