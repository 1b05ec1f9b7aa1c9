"""Refusals and crashes: pages in the product's look for people, JSON under /api/.

pytest-django runs every test with DEBUG off, as the product runs; this module is also a URLConf
(`settings.ROOT_URLCONF = __name__`) that adds views which crash or refuse to the product's own.
"""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import path

from smarketing import urls as product_urls
from smarketing.errors import server_error


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
    assert "--brand: #2f5bea" in body  # the product's colours, carried by the page itself


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
