"""The Referrals page (referrers, their credit by status, each referral with "Mark paid") and
/api/v1/referrals/, by role."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead, Stage
from playbooks.models import Referral, Referrer
from playbooks.referrals import services
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

Status = Referral.Status
PAGE = reverse("playbooks:referrals")
API = reverse("api-referrals")


def referrer(first: str = "Ana", email: str = "", stage: str = Stage.CUSTOMER, **fields: object) -> Referrer:
    lead = LeadFactory(
        first_name=first, last_name="Refers", email=email or f"{first.lower()}@refer.example", stage=stage
    )
    return services.referrer_for(lead) if not fields else Referrer.objects.create(lead=lead, **fields)


def referral(by: Referrer, status: str = Status.PENDING, credit: str = "50.00", **fields: object) -> Referral:
    now = timezone.now()
    dates = {"earned_at": now if status != Status.PENDING else None, "paid_at": now if status == Status.PAID else None}
    return Referral.objects.create(referrer=by, lead=LeadFactory(), status=status, credit=Decimal(credit), **dates)


def pay_api(item: Referral) -> str:
    return reverse("api-referral-pay", args=[item.pk])


# --- Who may see them -------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["marketer_client", "manager_client"])
def test_marketing_and_managers_open_the_page_and_the_api(request, client_name):
    client = request.getfixturevalue(client_name)
    referral(referrer())
    assert client.get(PAGE).status_code == 200
    assert client.get(API).status_code == 200


def test_sales_is_refused_and_visitors_must_log_in(rep_client, client):
    item = referral(referrer(), Status.EARNED)
    assert rep_client.get(PAGE).status_code == 403
    assert rep_client.get(API).status_code == 403
    assert rep_client.post(pay_api(item)).status_code == 403
    assert client.get(PAGE)["Location"].startswith(reverse("login"))
    assert client.get(API).status_code in (401, 403)
    item.refresh_from_db()
    assert item.status == Status.EARNED


def test_referrals_is_in_the_menu_beside_email_for_marketing_and_managers(marketer_client, manager_client, rep_client):
    def labels(client: Client) -> list[str]:
        return [item["label"] for item in client.get(reverse("home")).context["nav_items"]]

    for client in (marketer_client, manager_client):
        menu = labels(client)
        # Beside Email, among marketing's other playbook pages, before the capture forms.
        assert "Referrals" in menu[menu.index("Email") : menu.index("Forms")]
    assert "Referrals" not in labels(rep_client)
    items = marketer_client.get(PAGE).context["nav_items"]
    assert [item["label"] for item in items if item["active"]] == ["Referrals"]


# --- The page ---------------------------------------------------------------------------


def test_each_referrer_shows_code_lead_stage_count_and_credit_by_status(marketer_client):
    ana = referrer("Ana")
    referral(ana, Status.PENDING, "50.00")
    referral(ana, Status.PENDING, "25.00")
    earned = referral(ana, Status.EARNED, "50.00")
    referral(ana, Status.PAID, "40.00")
    response = marketer_client.get(PAGE)
    row = response.context["rows"][0]
    assert row[0] == ana
    assert (row[0].referred, row[0].pending, row[0].earned, row[0].paid) == (
        4,
        Decimal("75.00"),
        Decimal("50.00"),
        Decimal("40.00"),
    )
    html = response.content.decode()
    assert f"<code>{ana.code}</code>" in html
    assert reverse("leads:detail", args=[ana.lead_id]) in html
    assert "USD 75.00" in html and "USD 40.00" in html
    assert html.count("Mark paid<span") == 1  # only the earned one
    assert f'hx-post="{reverse("playbooks:referral-pay", args=[earned.pk])}"' in html
    assert f'action="{reverse("playbooks:referral-pay", args=[earned.pk])}"' in html
    totals = response.context["totals"]
    assert (totals["count"], totals["pending"], totals["earned"], totals["paid"]) == (
        4,
        Decimal("75.00"),
        Decimal("50.00"),
        Decimal("40.00"),
    )


def test_the_status_filter_keeps_referrers_with_such_credit_and_shows_those_referrals(marketer_client):
    ana, ben = referrer("Ana"), referrer("Ben")
    referral(ana, Status.PENDING)
    to_pay = referral(ana, Status.EARNED)
    referral(ben, Status.PENDING)
    response = marketer_client.get(PAGE, {"status": "earned"})
    rows = response.context["rows"]
    assert [(r, [x.pk for x in items]) for r, items in rows] == [(ana, [to_pay.pk])]
    assert rows[0][0].referred == 2  # the sums stay the referrer's whole


def test_search_finds_a_code_a_name_or_an_email(marketer_client):
    ana, ben = referrer("Ana"), referrer("Ben", email="ben@other.example")
    for query, found in [(ana.code.lower(), ana), ("ben", ben), ("other.example", ben), ("ana refers", ana)]:
        rows = marketer_client.get(PAGE, {"q": query}).context["rows"]
        assert [r for r, _ in rows] == [found], query
    response = marketer_client.get(PAGE, {"q": "nobody"})
    assert response.context["rows"] == []
    assert "No referrer matches these filters" in response.content.decode()


def test_an_empty_page_says_how_referrers_appear(marketer_client):
    html = marketer_client.get(PAGE).content.decode()
    assert "No referrers yet" in html and "{{ referral_url }}" in html


def test_a_bad_status_filter_is_a_400_that_says_why(marketer_client):
    response = marketer_client.get(PAGE, {"status": "owed"})
    assert response.status_code == 400
    assert "Choose one of the statuses listed." in response.content.decode()


def test_the_page_shows_25_referrers_newest_first_and_its_queries_do_not_grow(
    marketer_client, django_assert_max_num_queries
):
    now = timezone.now()
    for n in range(30):
        made = referrer(f"R{n}", created_at=now - timedelta(minutes=30 - n), code=f"CODE{n:04d}")
        for status in (Status.PENDING, Status.EARNED, Status.PAID):
            referral(made, status)
    with django_assert_max_num_queries(8) as captured:
        response = marketer_client.get(PAGE)
    page = response.context["page"]
    assert (len(page.object_list), page.paginator.count) == (25, 30)
    assert page.object_list[0].code == "CODE0029"
    assert response.content.decode().count("Mark paid<span") == 25
    few = len(captured)
    Referral.objects.bulk_create(
        Referral(referrer=r, lead=LeadFactory(), credit=Decimal("5.00")) for r in Referrer.objects.all()
    )
    with django_assert_max_num_queries(few):
        assert marketer_client.get(PAGE, {"page": 2}).status_code == 200


# --- The API ----------------------------------------------------------------------------


def test_the_api_lists_referrals_with_code_lead_status_credit_and_dates(manager_client, manager):
    ana = referrer("Ana")
    pending = referral(ana)
    paid = referral(ana, Status.PAID, "40.00")
    Referral.objects.filter(pk=paid.pk).update(paid_by=manager)
    body = manager_client.get(API).json()
    assert body["count"] == 2
    rows = {row["id"]: row for row in body["results"]}
    lead: Lead = pending.lead
    assert rows[pending.pk] == {
        "id": pending.pk,
        "code": ana.code,
        "lead_id": lead.pk,
        "lead_email": lead.email,
        "status": "pending",
        "credit": "50.00",
        "created_at": rows[pending.pk]["created_at"],
        "earned_at": None,
        "paid_at": None,
        "paid_by": None,
    }
    assert rows[paid.pk]["paid_by"] == "manager" and rows[paid.pk]["paid_at"]
    only_paid = manager_client.get(API, {"status": "paid"}).json()
    assert [row["id"] for row in only_paid["results"]] == [paid.pk]


def test_a_bad_status_in_the_api_is_a_400_with_a_message(manager_client):
    response = manager_client.get(API, {"status": "owed"})
    assert response.status_code == 400
    assert response.json() == {"status": ["“owed” is no status; use pending, earned or paid."]}


def test_the_api_pays_only_an_earned_credit(marketer_client, marketer):
    ana = referrer("Ana")
    earned, pending = referral(ana, Status.EARNED), referral(ana)
    response = marketer_client.post(pay_api(earned))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["paid_by"]) == ("paid", "marketer")
    again = marketer_client.post(pay_api(earned))
    assert again.status_code == 400
    assert again.json() == {"status": ["Only an earned credit can be marked paid; this one is paid."]}
    refused = marketer_client.post(pay_api(pending))
    assert refused.status_code == 400 and "pending" in refused.json()["status"][0]
    assert marketer_client.post(reverse("api-referral-pay", args=[999])).status_code == 404


def test_the_schema_documents_the_referral_endpoints(client):
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    assert "/api/v1/referrals/" in schema["paths"]
    assert "/api/v1/referrals/{id}/pay/" in schema["paths"]
    parameters = schema["paths"]["/api/v1/referrals/"]["get"]["parameters"]
    assert "status" in {p["name"] for p in parameters}
