"""The database out of reach: a styled 503 page (JSON under /api/) with Retry-After, then the
next request after it is back succeeds, with no restart.

Here the database this suite runs on is made unreachable for real: the connection is closed and
pointed where nothing answers (a SQLite file in a folder that does not exist, or a PostgreSQL
port nobody listens on), so the next query fails as it would with the server down. The same
through a real server and a real PostgreSQL stopped and restarted is
tests/smarketing/test_database_restart.py.
"""

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.template import loader
from django.test import Client, RequestFactory
from rest_framework.authtoken.models import Token

from leads.models import Lead
from smarketing.errors import RETRY_AFTER_SECONDS, server_error
from tests.factories import LeadFactory

# The rows must outlive the closed connection: committed, not inside a test's transaction.
with_rows = pytest.mark.django_db(transaction=True)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database_away(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Close the connection and point it where no database answers; the fixture's value puts it
    back (as a restarted server would be), and so does its teardown."""
    saved = dict(connection.settings_dict)

    def back() -> None:
        connection.close()
        connection.settings_dict.update(saved)

    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = str(tmp_path / "no-such-folder" / "db.sqlite3")
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(unused_port()))
    yield back
    back()


@pytest.fixture
def lead(db: None) -> Lead:
    return LeadFactory(email="ada@example.com")


@pytest.fixture
def token(marketer: User) -> str:
    return Token.objects.create(user=marketer).key


@with_rows
def test_a_page_answers_the_styled_503_while_the_database_is_away_and_works_once_it_is_back(
    marketer_client: Client, lead: Lead, database_away: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = marketer_client.get(f"/leads/{lead.pk}/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    # Rendered from 503.html alone: no base layout, no context processor, no user or session read.
    assert [template.name for template in response.templates] == ["503.html"]
    body = response.content.decode()
    assert "Back in a moment" in body
    assert "s<span>marketing</span>" in body
    assert '<link rel="stylesheet" href="/static/css/error.css">' in body
    lines = [record.getMessage() for record in caplog.records if record.name == "smarketing.database"]
    assert len(lines) == 1
    assert lines[0].startswith(f"GET /leads/{lead.pk}/ 503: database unavailable: ")

    database_away()  # the database is back; the app is not restarted
    response = marketer_client.get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    assert "ada@example.com" in response.content.decode()


@with_rows
def test_the_api_answers_json_503_in_its_error_shape(token: str, lead: Lead, database_away: object) -> None:
    response = Client().get(f"/api/v1/leads/{lead.pk}/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": "The database is unavailable; try again shortly."}


@with_rows
def test_a_post_to_the_api_also_answers_503(token: str, database_away: object) -> None:
    response = Client().post(
        "/api/v1/leads/",
        {"email": "new@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 503
    assert "detail" in response.json()


def test_a_middleware_that_fails_on_the_database_gets_the_503_too() -> None:
    # handler500 answers for a failure outside any view (a session saved on the way out); Django
    # calls it inside its `except`. No `db` fixture: pytest-django fails any database access.
    request = RequestFactory().get("/leads/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        page = server_error(request)
        api = server_error(RequestFactory().post("/api/v1/events/"))
    assert (page.status_code, page["Retry-After"]) == (503, str(RETRY_AFTER_SECONDS))
    assert "Back in a moment" in page.content.decode()
    assert (api.status_code, api["Content-Type"]) == (503, "application/json")
    assert "Back in a moment" in loader.get_template("503.html").render()  # no context at all


def test_any_other_crash_is_still_the_500() -> None:
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(RequestFactory().get("/leads/"))
    assert response.status_code == 500
    assert not response.has_header("Retry-After")
