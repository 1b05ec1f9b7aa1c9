"""Every figure on the dashboard links to the leads behind it: followed from the page, each link
lists exactly the leads the figure counts (see world.py), and a rep sees only their own."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from leads.models import Campaign, Lead
from tests.reports.dashboard.world import FEBRUARY, JANUARY, NOW, at, build_world, hand_off

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:dashboard")
LEADS = reverse("reports:dashboard-leads")


@pytest.fixture
def world(rep):
    return build_world(rep)


def get(client: Client, url: str, params: dict[str, str] | None = None):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, params or {})


def behind(client: Client, url: str) -> set[str]:
    """The world's letters of the leads a figure's link lists."""
    response = get(client, url)
    assert response.status_code == 200, response.content.decode()[:2000]
    return {lead.last_name for lead in response.context["page"].object_list}


def test_the_agreements_figures_link_to_their_leads(manager_client, world):
    page = get(manager_client, PAGE, {"month": "2026-02"})
    links = {m["row"].month: m for m in page.context["trend"]}
    january, february = links[JANUARY], links[FEBRUARY]
    assert behind(manager_client, january["mql_delivered_url"]) == {"A", "B", "C"}
    assert behind(manager_client, january["handed_off_url"]) == {"A", "B", "C"}
    assert behind(manager_client, january["accepted_url"]) == {"A"}
    assert behind(manager_client, january["in_time_url"]) == {"A", "C"}
    assert behind(manager_client, january["late_url"]) == {"B"}
    assert behind(manager_client, january["won_handoff_url"]) == {"A"}
    assert behind(manager_client, february["mql_delivered_url"]) == {"D"}
    html = page.content.decode()
    assert f'href="{january["late_url"].replace("&", "&amp;")}"' in html


def test_the_funnels_cells_link_to_their_leads(manager_client, world):
    page = get(manager_client, PAGE, {"period": "quarter", "quarter": "2026-Q1"})
    january, february, _ = page.context["cohorts"]
    assert behind(manager_client, january["leads_url"]) == {"A", "B", "C"}
    mql, sql = january["cells"][2], january["cells"][3]
    assert (mql[0], sql[0]) == (3, 1)
    assert behind(manager_client, mql[2]) == {"A", "B", "C"}
    assert behind(manager_client, sql[2]) == {"A"}  # reached SQL by going beyond it
    assert behind(manager_client, february["cells"][1][2]) == {"D", "E"}
    entries = {row["label"]: row["url"] for row in page.context["entries"]}
    assert behind(manager_client, entries["MQL"]) == {"A", "B", "C", "D"}
    assert behind(manager_client, entries["Customer"]) == {"A"}
    moves = {row["from"]: row["url"] for row in page.context["moves"]}
    assert behind(manager_client, moves["Lead"]) == {"A", "B", "C", "D"}
    assert behind(manager_client, moves["Opportunity"]) == {"A"}


def test_deals_pipeline_and_reasons_link_to_their_leads(manager_client, world):
    page = get(manager_client, PAGE, {"period": "quarter", "quarter": "2026-Q1"})
    assert behind(manager_client, page.context["won_url"]) == {"A"}
    assert behind(manager_client, page.context["lost_url"]) == set()
    assert behind(manager_client, page.context["pipeline_url"]) == {"D"}
    assert behind(manager_client, page.context["pipeline"][0]["url"]) == {"D"}
    assert behind(manager_client, page.context["pipeline"][1]["url"]) == set()
    reasons = {reason["row"].label: reason["url"] for reason in page.context["reasons"]}
    assert behind(manager_client, reasons["No budget"]) == {"B"}
    assert behind(manager_client, reasons["Not now"]) == {"C"}
    assert behind(manager_client, page.context["verdicts_url"]) == {"A", "B", "C", "D"}  # D accepted in February


def test_links_keep_the_filters(manager_client, world):
    webinar = Campaign.objects.get(name="Webinar")
    page = get(manager_client, PAGE, {"month": "2026-01", "campaign": str(webinar.pk)})
    entries = {row["label"]: row["url"] for row in page.context["entries"]}
    assert f"campaign={webinar.pk}" in entries["MQL"]
    listed = get(manager_client, entries["MQL"])
    assert {lead.last_name for lead in listed.context["page"].object_list} == {"A", "C"}
    assert listed.context["title"] == "Leads that first entered MQL from 1 Jan 2026 to 31 Jan 2026"
    back = listed.context["back"]
    assert "period=custom" in back and f"campaign={webinar.pk}" in back


def test_a_rep_sees_their_own_leads_among_those_behind_a_figure(rep_client, rep, other_rep, world):
    Lead.objects.filter(last_name__in=["A", "C"]).update(owner=rep)
    Lead.objects.filter(last_name="B").update(owner=other_rep)
    page = get(rep_client, PAGE, {"month": "2026-01"})
    url = next(m for m in page.context["trend"] if m["row"].month == JANUARY)["mql_delivered_url"]
    response = get(rep_client, url)
    assert {lead.last_name for lead in response.context["page"].object_list} == {"A", "C"}
    assert response.context["total"] == 3
    assert "You see the 2 you may open" in response.content.decode()


def test_a_link_that_names_no_figure_answers_400_per_field(manager_client, world):
    response = get(manager_client, LEADS, {"figure": "nonsense", "from": "2026-01-01", "to": "2026-01-31"})
    assert response.status_code == 400
    assert response.context["figure_form"].errors["figure"] == ["No such figure."]
    no_stage = get(manager_client, LEADS, {"figure": "entered", "from": "2026-01-01", "to": "2026-01-31"})
    assert no_stage.status_code == 400 and no_stage.context["figure_form"].errors["stage"] == ["Give the stage."]
    no_month = get(manager_client, LEADS, {"figure": "handed_off", "month": "January"})
    assert no_month.status_code == 400 and "month" in no_month.context["figure_form"].errors
    bad_filter = get(manager_client, LEADS, {"figure": "won", "from": "2026-01-01", "to": "2026-01-31", "persona": "0"})
    assert bad_filter.status_code == 400 and "Persona: Choose a persona from the list." in bad_filter.content.decode()


def test_the_leads_behind_a_figure_need_a_role(client, nobody):
    assert get(client, LEADS).status_code == 302
    client.force_login(nobody)
    assert get(client, LEADS, {"figure": "won", "from": "2026-01-01", "to": "2026-01-31"}).status_code == 403


def test_the_list_takes_a_bounded_number_of_queries(manager_client, world, django_assert_max_num_queries):
    url = f"{LEADS}?figure=entered&stage=mql&from=2026-01-01&to=2026-03-31"
    with django_assert_max_num_queries(10):
        get(manager_client, url)


def test_a_handoff_left_untouched_past_its_deadline_is_late(manager_client, rep, world):
    hand_off(world["E"], rep, at(1, 30), None, "assigned")
    page = get(manager_client, PAGE, {"month": "2026-01"})
    january = next(m for m in page.context["trend"] if m["row"].month == JANUARY)
    assert (january["row"].decided, january["row"].in_time) == (4, 2)
    assert behind(manager_client, january["late_url"]) == {"B", "E"}
