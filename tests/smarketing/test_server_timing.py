import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from smarketing.middleware import ServerTimingMiddleware

pytestmark = pytest.mark.django_db

APP_METRIC = re.compile(r"(?:^|,\s*)app;dur=([^,;\s]+)")


def app_duration(response: HttpResponse) -> float:
    match = APP_METRIC.search(response.headers["Server-Timing"])
    assert match, response.headers["Server-Timing"]
    return float(match.group(1))


def test_a_page_says_how_long_the_app_took(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert app_duration(response) >= 0


def test_an_api_call_says_how_long_the_app_took(marketer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=marketer).key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert app_duration(response) >= 0


def test_a_refused_request_is_timed_too(client):
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert app_duration(response) >= 0


def test_a_views_own_metrics_are_kept():
    def view(request: object) -> HttpResponse:
        response = HttpResponse()
        response.headers["Server-Timing"] = "db;dur=1.5"
        return response

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    assert response.headers["Server-Timing"].startswith("db;dur=1.5, app;dur=")
    assert app_duration(response) >= 0
