"""Merging two leads by hand: the service and its pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.models import EngagementRollup, Event, Lead, LeadMerge, LeadScore, ScoringRule, Stage, StageChange
from leads.services import MergeError, lead_merge
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db


def send(email: str, event_type: str, key: str) -> None:
    events_ingest(events=[EventIn(email=email, type=event_type, occurred_at=timezone.now(), idempotency_key=key)])


def test_merge_moves_events_and_history_and_records_the_other_lead(marketer):
    survivor = LeadFactory(email="ana@acme.io", company="")
    other = LeadFactory(email="ana.perez@gmail.com", company="Acme", phone="+34 600", title="CTO")
    EventFactory.create_batch(2, lead=other)
    EventFactory(lead=survivor)
    StageChange.objects.create(lead=other, from_stage="", to_stage=Stage.LEAD)
    record = lead_merge(survivor=survivor, other=other, by=marketer)
    assert not Lead.objects.filter(pk=other.pk).exists()
    assert Event.objects.filter(lead=survivor).count() == 3
    assert StageChange.objects.filter(lead=survivor).count() == 1
    assert (record.survivor, record.merged_lead_id, record.merged_email) == (survivor, other.pk, other.email)
    assert record.merged_by == marketer
    assert record.snapshot["email"] == "ana.perez@gmail.com" and record.snapshot["company"] == "Acme"
    assert record.snapshot["moved"]["events"] == 2
    survivor.refresh_from_db()
    assert (survivor.email, survivor.company, survivor.phone, survivor.title) == (
        "ana@acme.io",
        "Acme",
        "+34 600",
        "CTO",
    )


def test_merge_keeps_the_survivors_values_and_is_conservative_with_unsubscribes(marketer):
    earlier = timezone.now() - timedelta(days=9)
    survivor = LeadFactory(company="Acme", consent=True)
    other = LeadFactory(company="Other Co", consent=False, unsubscribed_at=earlier, created_at=earlier, source="seo")
    lead_merge(survivor=survivor, other=other, by=marketer)
    survivor.refresh_from_db()
    assert survivor.company == "Acme"
    assert survivor.unsubscribed_at == earlier  # unsubscribed because the other address was
    assert survivor.created_at == earlier and survivor.source == "seo"  # the earlier first touch
    assert LeadScore.objects.get(lead=survivor).created_at == earlier  # the persona list orders by this copy


def test_merge_combines_score_rollups_per_rule_and_rescores(marketer):
    ScoringRule.objects.create(name="Views", event_type="page_viewed", points=5, cap=100)
    ScoringRule.objects.create(name="Opens", event_type="email_opened", points=2)
    send("a@acme.io", "page_viewed", "a1")
    send("a@acme.io", "page_viewed", "a2")
    send("b@acme.io", "page_viewed", "b1")
    send("b@acme.io", "email_opened", "b2")
    survivor, other = Lead.objects.get(email="a@acme.io"), Lead.objects.get(email="b@acme.io")
    assert (survivor.score, other.score) == (10, 7)
    lead_merge(survivor=survivor, other=other, by=marketer)
    survivor.refresh_from_db()
    assert survivor.score == 17
    assert survivor.score_breakdown == {"Views": 15, "Opens": 2}
    assert dict(EngagementRollup.objects.filter(lead=survivor).values_list("rule__name", "value")) == {
        "Views": 15.0,
        "Opens": 2.0,
    }
    assert not EngagementRollup.objects.filter(lead_id=other.pk).exists()


def test_merge_takes_the_stage_further_along_the_funnel_and_records_it(marketer):
    survivor, other = LeadFactory(stage=Stage.LEAD), LeadFactory(stage=Stage.SQL, qualified_version=3)
    lead_merge(survivor=survivor, other=other, by=marketer)
    survivor.refresh_from_db()
    assert (survivor.stage, survivor.qualified_version) == (Stage.SQL, 3)
    change = StageChange.objects.filter(lead=survivor).latest("changed_at", "id")
    assert (change.from_stage, change.to_stage, change.changed_by, change.reason) == ("lead", "sql", marketer, "Merge")


def test_merging_a_lead_into_itself_is_refused(marketer):
    lead = LeadFactory()
    with pytest.raises(MergeError):
        lead_merge(survivor=lead, other=lead, by=marketer)
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_an_earlier_merge_record_follows_the_survivor(marketer):
    first, second, third = LeadFactory(), LeadFactory(), LeadFactory()
    lead_merge(survivor=second, other=third, by=marketer)
    lead_merge(survivor=first, other=second, by=marketer)
    assert LeadMerge.objects.filter(survivor=first).count() == 2


# --- Pages ----------------------------------------------------------------------------------


def test_marketer_finds_the_other_lead_by_email(marketer_client):
    lead = LeadFactory(email="ana@acme.io")
    other = LeadFactory(email="ana.perez@gmail.com")
    LeadFactory(email="luis@nube.co")
    response = marketer_client.get(reverse("leads:merge", args=[lead.pk]), {"email": "ANA"})
    assert response.status_code == 200
    assert [candidate.pk for candidate in response.context["candidates"]] == [other.pk]


def test_confirmation_shows_both_leads_and_which_survives(marketer_client):
    lead = LeadFactory(email="ana@acme.io", phone="")
    other = LeadFactory(email="ana.perez@gmail.com", phone="+34 600")
    response = marketer_client.get(reverse("leads:merge_confirm", args=[lead.pk, other.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<strong>ana@acme.io</strong> stays" in content
    assert "Merge and delete ana.perez@gmail.com" in content
    assert "fills the blank" in content
    assert Lead.objects.filter(pk=other.pk).exists()  # nothing happens before the POST


def test_posting_the_confirmation_merges_and_says_so(manager_client):
    lead, other = LeadFactory(), LeadFactory(email="other@acme.io")
    EventFactory(lead=other)
    response = manager_client.post(reverse("leads:merge_confirm", args=[lead.pk, other.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("leads:detail", args=[lead.pk])
    assert "Merged other@acme.io into this lead" in response.content.decode()
    assert Event.objects.filter(lead=lead).count() == 1
    assert LeadMerge.objects.filter(survivor=lead, merged_email="other@acme.io").exists()


def test_merging_a_lead_into_itself_through_the_page_is_a_400(marketer_client):
    lead = LeadFactory()
    url = reverse("leads:merge_confirm", args=[lead.pk, lead.pk])
    assert marketer_client.get(url).status_code == 400
    response = marketer_client.post(url)
    assert response.status_code == 400
    assert "cannot be merged into itself" in response.content.decode()
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_merge_search_with_bad_input_is_a_400(marketer_client):
    lead = LeadFactory()
    assert marketer_client.get(reverse("leads:merge", args=[lead.pk]), {"email": "x" * 300}).status_code == 400


def test_rep_cannot_merge(rep_client, rep):
    lead, other = LeadFactory(owner=rep), LeadFactory(owner=rep)
    assert rep_client.get(reverse("leads:merge", args=[lead.pk])).status_code == 403
    assert rep_client.post(reverse("leads:merge_confirm", args=[lead.pk, other.pk])).status_code == 403
    assert Lead.objects.filter(pk=other.pk).exists()


def test_merging_a_lead_that_does_not_exist_is_a_404(marketer_client):
    lead = LeadFactory()
    assert marketer_client.post(reverse("leads:merge_confirm", args=[lead.pk, lead.pk + 999])).status_code == 404
