"""The dashboard is in every role's menu, and it is the manager's landing page."""

import pytest
import time_machine
from django.urls import reverse

from tests.reports.dashboard.world import NOW, build_world

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:dashboard")


@pytest.fixture
def world(rep):
    return build_world(rep)


def get(client, url: str = PAGE):
    with time_machine.travel(NOW, tick=False):
        return client.get(url)


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_every_role_opens_it_and_finds_it_in_the_menu(who, request, world):
    response = get(request.getfixturevalue(f"{who}_client"))
    assert response.status_code == 200
    assert [item["label"] for item in response.context["nav_items"] if item["active"]] == ["Dashboard"]


def test_the_manager_lands_on_the_dashboard(manager_client, world):
    response = get(manager_client, reverse("home"))
    assert response.status_code == 200
    assert response.templates[0].name == "reports/dashboard/dashboard.html"
    assert response.context["attainment"]["mql_target"] == 4  # this month's, live, as on every landing page
