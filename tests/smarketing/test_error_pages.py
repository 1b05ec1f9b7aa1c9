"""Refusals and crashes: pages in the product's look for people, JSON under /api/, one log line each.

pytest-django runs every test with DEBUG off, as the product runs; this module is also a URLConf
(`settings.ROOT_URLCONF = __name__`) that adds views which crash or refuse to the product's own.
"""

import logging
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import path

from smarketing import urls as product_urls
from smarketing.errors import server_error
from smarketing.lib.logs import RefusalFormatter


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def bad_input(request: HttpRequest) -> HttpResponse:
    raise BadRequest("page must be a number")


def refuse(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Only the owner may do this.")


urlpatterns = [
    path("test/crash/", crash),
    path("test/bad-input/", bad_input),
    path("api/v1/test/crash/", crash),
    path("api/v1/test/refused/", refuse),
    *product_urls.urlpatterns,
]
handler400 = product_urls.handler400
handler403 = product_urls.handler403
handler404 = product_urls.handler404
handler500 = product_urls.handler500


@pytest.fixture(autouse=True)
def _debug_off_with_test_views(settings: object) -> None:
    settings.DEBUG = False  # pytest-django's default; said here because the pages depend on it
    settings.ROOT_URLCONF = __name__


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "smarketing.refusals"]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.name for record in caplog.records if record.levelno >= logging.WARNING]


def assert_product_layout(body: str) -> None:
    assert 'class="sidebar"' in body  # the signed-in shell: navigation, top bar
    assert "css/app" in body  # the product's stylesheet


# --- Pages ------------------------------------------------------------------------------------


def test_a_missing_page_is_the_products_404_in_its_layout(rep_client: Client) -> None:
    response = rep_client.get("/no/such/page/")
    assert response.status_code == 404
    assert [t.name for t in response.templates][0] == "404.html"
    body = response.content.decode()
    assert_product_layout(body)
    assert "Page not found" in body
    assert "/no/such/page/" in body


def test_a_visitor_who_is_not_signed_in_gets_the_404_on_the_public_layout(client: Client, db: None) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'class="sidebar"' not in body
    assert "s<span>marketing</span>" in body
    assert "css/app" in body


def test_a_wrong_role_gets_the_products_403_with_the_reason(rep_client: Client) -> None:
    response = rep_client.get("/leads/personas/")  # marketing and managers only
    assert response.status_code == 403
    assert [t.name for t in response.templates][0] == "403.html"
    body = response.content.decode()
    assert_product_layout(body)
    assert "Your role does not give access to this page." in body


def test_a_crash_is_the_products_500_page(rep_client: Client) -> None:
    rep_client.raise_request_exception = False
    response = rep_client.get("/test/crash/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "s<span>marketing</span>" in body
    # Its own stylesheet by its plain name (no hashed name to look up), carrying the product's colours.
    assert '<link rel="stylesheet" href="/static/css/error.css">' in body
    assert "--brand: #2f5bea" in Path(finders.find("css/error.css")).read_text()


def test_the_500_page_needs_no_request_context_and_no_database() -> None:
    # No `db` fixture: pytest-django makes any database access here an error.
    response = server_error(RequestFactory().get("/leads/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "Something went wrong" in loader.get_template("500.html").render()  # no context at all


def test_bad_input_is_the_products_400_page(rep_client: Client) -> None:
    response = rep_client.get("/test/bad-input/")
    assert response.status_code == 400
    assert_product_layout(response.content.decode())
    assert "Bad request" in response.content.decode()


def test_a_failed_csrf_check_is_the_products_page(rep: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post("/password/", {"old_password": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    assert_product_layout(body)
    assert "This form expired" in body


# --- API --------------------------------------------------------------------------------------


def test_the_api_answers_json_for_a_missing_endpoint(rep_client: Client) -> None:
    response = rep_client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_the_api_answers_json_to_a_wrong_role(marketer_client: Client) -> None:
    response = marketer_client.get("/api/v1/queue/")  # reps and managers only
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_the_api_answers_json_to_a_refusal_outside_rest_framework(rep_client: Client) -> None:
    response = rep_client.get("/api/v1/test/refused/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the owner may do this."}


def test_the_api_answers_json_for_a_crash(rep_client: Client) -> None:
    rep_client.raise_request_exception = False
    response = rep_client.get("/api/v1/test/crash/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}


# --- Logs -------------------------------------------------------------------------------------


def test_a_refusal_is_one_log_line_without_a_traceback(
    rep_client: Client, rep: User, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        rep_client.get("/leads/personas/?q=someone@example.com")
    assert refusal_lines(caplog) == [
        f"GET /leads/personas/ 403 user={rep.pk}: Your role does not give access to this page."
    ]
    assert [record for record in caplog.records if record.exc_info] == []
    assert warnings(caplog) == ["smarketing.refusals"]  # not django.request's line with a traceback


@pytest.mark.parametrize(
    ("url", "status"),
    [("/no/such/page/", 404), ("/test/bad-input/", 400), ("/api/v1/no-such-endpoint/", 404)],
)
def test_other_refusals_are_one_line_each(
    url: str, status: int, rep_client: Client, rep: User, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        rep_client.get(url)
    assert refusal_lines(caplog) == [f"GET {url} {status} user={rep.pk}"]
    assert [record for record in caplog.records if record.exc_info] == []


def test_an_api_refusal_names_the_token_or_session_user(
    marketer_client: Client, marketer: User, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        marketer_client.get("/api/v1/queue/")
    assert refusal_lines(caplog) == [f"GET /api/v1/queue/ 403 user={marketer.pk}"]


def test_a_failed_csrf_check_logs_its_reason_once(caplog: pytest.LogCaptureFixture, db: None) -> None:
    with caplog.at_level(logging.INFO):
        Client(enforce_csrf_checks=True).post("/login/", {"username": "rep", "password": "x"})
    assert refusal_lines(caplog) == ["POST /login/ 403 user=-: CSRF cookie not set."]
    assert warnings(caplog) == ["smarketing.refusals"]  # not django.security.csrf's line as well


def test_a_crash_still_logs_its_traceback(rep_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    rep_client.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        rep_client.get("/test/crash/")
    errors = [record for record in caplog.records if record.name == "django.request"]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert errors[0].exc_info[0] is RuntimeError
    assert refusal_lines(caplog) == []


def test_the_console_prints_a_refusal_without_its_traceback_and_a_crash_with_it() -> None:
    # django.security logs a bad Host header (a 400) with the exception attached.
    try:
        raise ValueError("Invalid HTTP_HOST header")
    except ValueError:
        exc_info = sys.exc_info()
    formatter = RefusalFormatter()

    def record(status: int) -> logging.LogRecord:
        return logging.makeLogRecord({"msg": "Invalid HTTP_HOST header", "exc_info": exc_info, "status_code": status})

    assert formatter.format(record(400)) == "Invalid HTTP_HOST header"
    assert "Traceback" in formatter.format(record(500))
