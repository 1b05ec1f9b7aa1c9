"""The NPS question a loyalty email links to: shown on GET, recorded once on POST, a promoter
invited to refer; a changed link is refused."""

import re

import pytest
from django.core import signing
from django.urls import reverse

from leads.models import Event, Lead, Stage
from playbooks.models import Referrer
from playbooks.referrals import services
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def nps_path(lead: Lead) -> str:
    return path_of(services.nps_url(lead))


def answers(lead: Lead) -> list[dict]:
    return list(Event.objects.filter(lead=lead, type="nps_answered").values_list("properties", flat=True))


# --- The NPS page -----------------------------------------------------------------------


def test_the_question_has_eleven_buttons_and_opening_it_records_nothing(visitor, customer):
    page = visitor.get(nps_path(customer))
    assert page.status_code == 200
    html = page.content.decode()
    assert "How likely are you to recommend us" in html
    assert re.findall(r'<button type="submit" name="score" value="(\d+)"', html) == [str(n) for n in range(11)]
    assert 'method="post"' in html
    assert answers(customer) == []


def test_a_link_may_preselect_a_score_but_only_a_post_records_it(visitor, customer):
    path = nps_path(customer)
    for _ in range(3):  # a mail scanner fetching the link, then the person opening it
        page = visitor.get(path, {"score": "9"})
    html = page.content.decode()
    assert "You chose 9 in our email" in html
    assert '<button type="submit" name="score" value="9" class="primary" autofocus>' in html
    assert answers(customer) == []
    assert "You chose" not in visitor.get(path, {"score": "11"}).content.decode()


def test_a_post_records_one_answer_with_its_group_and_a_second_post_changes_nothing(visitor):
    lead = LeadFactory(stage=Stage.OPPORTUNITY)
    path = nps_path(lead)
    first = visitor.post(path, {"score": "7"})
    assert first.status_code == 200
    assert "Your answer: <strong>7</strong>" in first.content.decode()
    again = visitor.post(path, {"score": "2"})
    assert "Your answer: <strong>7</strong>" in again.content.decode()
    assert answers(lead) == [{"score": 7, "group": "passive"}]
    assert "Your answer: <strong>7</strong>" in visitor.get(path).content.decode()


@pytest.mark.parametrize(("score", "group"), [(0, "detractor"), (6, "detractor"), (8, "passive"), (10, "promoter")])
def test_each_score_falls_in_its_group(visitor, score, group):
    lead = LeadFactory()
    visitor.post(nps_path(lead), {"score": str(score)})
    assert answers(lead) == [{"score": score, "group": group}]


def test_a_new_link_may_be_answered_again(visitor, customer):
    first = nps_path(customer)
    visitor.post(first, {"score": "5"})
    second = first
    while second == first:  # a token carries the second it was signed in
        second = nps_path(customer)
    visitor.post(second, {"score": "9"})
    assert sorted(a["score"] for a in answers(customer)) == [5, 9]


def test_a_promoter_customer_is_shown_their_referral_link(visitor, customer, settings):
    settings.SITE_URL = "https://crm.example.com"
    response = visitor.post(nps_path(customer), {"score": "10"})
    code = Referrer.objects.get(lead=customer).code
    html = response.content.decode()
    assert f'value="https://crm.example.com/r/{code}/"' in html
    assert "Your referral link" in html


def test_a_promoter_who_is_not_a_customer_gets_no_link_and_no_code(visitor):
    lead = LeadFactory(stage=Stage.SQL)
    html = visitor.post(nps_path(lead), {"score": "10"}).content.decode()
    assert "Thank you" in html and "Your referral link" not in html
    assert not Referrer.objects.exists()


def test_a_detractor_customer_is_not_invited(visitor, customer):
    html = visitor.post(nps_path(customer), {"score": "3"}).content.decode()
    assert "Your referral link" not in html
    assert not Referrer.objects.exists()


@pytest.mark.parametrize("score", ["11", "-1", "ten", ""])
def test_a_score_out_of_range_is_a_400_and_nothing_is_recorded(visitor, customer, score):
    response = visitor.post(nps_path(customer), {"score": score})
    assert response.status_code == 400
    assert "Choose a score from 0 to 10." in response.content.decode()
    assert answers(customer) == []


def test_a_tampered_token_is_a_400_and_records_nothing(visitor, customer):
    path = nps_path(customer)
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for response in (
        visitor.get(reverse("referrals:nps", args=[forged])),
        visitor.post(reverse("referrals:nps", args=[forged]), {"score": "10"}),
        visitor.get(reverse("referrals:nps", args=["not-a-token"])),
    ):
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert answers(customer) == []


def test_a_token_made_for_another_purpose_is_refused(visitor, customer):
    token = signing.dumps({"l": customer.pk}, salt="playbooks.email.unsubscribe")
    assert visitor.post(reverse("referrals:nps", args=[token]), {"score": "10"}).status_code == 400
    assert answers(customer) == []


def test_the_question_for_a_lead_that_is_gone_says_so(visitor):
    lead = LeadFactory()
    path = nps_path(lead)
    lead.delete()
    response = visitor.post(path, {"score": "9"})
    assert response.status_code == 404
    assert "Nothing to answer" in response.content.decode()
