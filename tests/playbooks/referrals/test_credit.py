"""Credit: earned when the referred lead becomes a customer (read from the stage history,
which also makes the referrer an evangelist), then paid by hand by marketing or a manager."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from leads.history import lead_change_stage
from leads.models import ChangeSource, HistoryReader, Lead, Stage, StageChange
from playbooks.models import Referral
from playbooks.referrals import services, tasks
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

Status = Referral.Status


def referred(visitor, code: str, email: str = "bea@example.com") -> Referral:
    visitor.post(reverse("referrals:landing", args=[code]), {"email": email, "first_name": "Bea"})
    return Referral.objects.get(lead__email=email)


def pay_url(referral: Referral) -> str:
    return reverse("playbooks:referral-pay", args=[referral.pk])


def earned(customer: Lead, email: str = "won@example.com") -> Referral:
    """A referral whose lead has become a customer, as the reader records it."""
    referrer = services.referrer_for(customer)
    lead = LeadFactory(email=email, stage=Stage.CUSTOMER)
    return Referral.objects.create(
        referrer=referrer, lead=lead, credit=Decimal("50.00"), status=Status.EARNED, earned_at=lead.created_at
    )


# --- Earned through the stage history ---------------------------------------------------


def test_a_referred_lead_becoming_a_customer_earns_the_credit_and_makes_an_evangelist(visitor, customer, code, manager):
    referral = referred(visitor, code)
    services.referrals_follow()  # the lead's creation is read; nothing is earned yet
    referral.refresh_from_db()
    assert referral.status == Status.PENDING

    move = lead_change_stage(lead=referral.lead, to_stage=Stage.CUSTOMER, by=manager)
    assert services.referrals_follow() >= 1

    referral.refresh_from_db()
    assert referral.status == Status.EARNED and referral.earned_at == move.changed_at
    customer.refresh_from_db()
    assert customer.stage == Stage.EVANGELIST
    promotion = StageChange.objects.get(lead=customer, to_stage=Stage.EVANGELIST)
    assert (promotion.from_stage, promotion.source, promotion.reason) == (
        Stage.CUSTOMER,
        ChangeSource.SYSTEM,
        "Earned a referral",
    )

    # Read again from the start (as after a lost place): nothing changes twice.
    HistoryReader.objects.filter(name=services.READER).delete()
    assert services.referrals_follow() >= 3
    assert services.referrals_follow() == 0
    referral.refresh_from_db()
    assert referral.status == Status.EARNED and referral.earned_at == move.changed_at
    assert StageChange.objects.filter(lead=customer, to_stage=Stage.EVANGELIST).count() == 1


def test_an_evangelist_referrer_stays_where_it_is(visitor, manager):
    evangelist = LeadFactory(stage=Stage.EVANGELIST)
    referral = referred(visitor, services.referrer_for(evangelist).code)
    lead_change_stage(lead=referral.lead, to_stage=Stage.CUSTOMER, by=manager)
    services.referrals_follow()
    referral.refresh_from_db()
    assert referral.status == Status.EARNED
    assert not StageChange.objects.filter(lead=evangelist).exists()


def test_other_moves_earn_nothing(visitor, code, customer, manager):
    referral = referred(visitor, code)
    lead_change_stage(lead=referral.lead, to_stage=Stage.MQL, by=manager)
    lead_change_stage(lead=referral.lead, to_stage=Stage.OPPORTUNITY, by=manager)
    services.referrals_follow()
    referral.refresh_from_db()
    customer.refresh_from_db()
    assert (referral.status, referral.earned_at, customer.stage) == (Status.PENDING, None, Stage.CUSTOMER)


def test_a_referrer_moved_elsewhere_by_a_person_is_not_moved_back(visitor, code, customer, manager):
    referral = referred(visitor, code)
    lead_change_stage(lead=customer, to_stage=Stage.DISQUALIFIED, by=manager, reason="Fraud")
    lead_change_stage(lead=referral.lead, to_stage=Stage.CUSTOMER, by=manager)
    services.referrals_follow()
    customer.refresh_from_db()
    assert customer.stage == Stage.DISQUALIFIED
    referral.refresh_from_db()
    assert referral.status == Status.EARNED


def test_the_task_is_the_reader(visitor, code, customer, manager):
    referral = referred(visitor, code)
    lead_change_stage(lead=referral.lead, to_stage=Stage.CUSTOMER, by=manager)
    assert tasks.referrals_follow.apply().get() >= 1
    referral.refresh_from_db()
    assert referral.status == Status.EARNED


# --- Paying -----------------------------------------------------------------------------


def test_only_an_earned_credit_is_paid_and_only_once(customer, marketer):
    referral = earned(customer)
    paid = services.referral_mark_paid(referral=referral, by=marketer)
    assert (paid.status, paid.paid_by) == (Status.PAID, marketer)
    assert paid.paid_at is not None
    with pytest.raises(ValidationError) as refused:
        services.referral_mark_paid(referral=referral, by=marketer)
    assert refused.value.message_dict["status"] == ["Only an earned credit can be marked paid; this one is paid."]


def test_a_pending_credit_cannot_be_paid(visitor, code, manager):
    referral = referred(visitor, code)
    with pytest.raises(ValidationError) as refused:
        services.referral_mark_paid(referral=referral, by=manager)
    assert "this one is pending" in refused.value.message_dict["status"][0]
    referral.refresh_from_db()
    assert (referral.status, referral.paid_at) == (Status.PENDING, None)


def test_sales_and_people_without_a_role_cannot_pay(customer, rep, nobody):
    referral = earned(customer)
    for who in (rep, nobody):
        with pytest.raises(PermissionDenied):
            services.referral_mark_paid(referral=referral, by=who)
    referral.refresh_from_db()
    assert referral.status == Status.EARNED


def test_the_pay_page_confirms_then_marks_paid_and_returns_to_the_filtered_list(marketer_client, customer, marketer):
    referral = earned(customer)
    back = reverse("playbooks:referrals") + "?status=earned"
    page = marketer_client.get(pay_url(referral), {"next": back})
    assert page.status_code == 200
    assert "Mark the credit of USD 50.00 paid?" in page.content.decode()
    referral.refresh_from_db()
    assert referral.status == Status.EARNED  # opening the page changes nothing

    response = marketer_client.post(pay_url(referral), {"next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert "marked paid" in response.content.decode()
    referral.refresh_from_db()
    assert (referral.status, referral.paid_by) == (Status.PAID, marketer)


def test_the_pay_page_never_returns_to_another_site(manager_client, customer):
    referral = earned(customer)
    response = manager_client.post(pay_url(referral), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("playbooks:referrals")


def test_paying_twice_is_a_400_that_says_why(manager_client, customer):
    referral = earned(customer)
    manager_client.post(pay_url(referral))
    again = manager_client.post(pay_url(referral))
    assert again.status_code == 400
    assert "this one is paid" in again.content.decode()
    page = manager_client.get(pay_url(referral))
    assert "This credit cannot be marked paid" in page.content.decode()
    assert "Mark paid</button>" not in page.content.decode()


def test_with_htmx_the_list_button_pays_and_the_browser_returns_to_the_list(marketer_client, customer):
    referral = earned(customer)
    back = reverse("playbooks:referrals") + "?q=won"
    response = marketer_client.post(pay_url(referral), {"next": back}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == back
    referral.refresh_from_db()
    assert referral.status == Status.PAID


def test_sales_is_refused_the_pay_page_and_visitors_are_sent_to_log_in(rep_client, client, customer):
    referral = earned(customer)
    assert rep_client.get(pay_url(referral)).status_code == 403
    assert rep_client.post(pay_url(referral)).status_code == 403
    assert client.post(pay_url(referral))["Location"].startswith(reverse("login"))
    referral.refresh_from_db()
    assert referral.status == Status.EARNED


def test_an_unknown_referral_is_404(marketer_client, db):
    assert marketer_client.get(reverse("playbooks:referral-pay", args=[999])).status_code == 404
