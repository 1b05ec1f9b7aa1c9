import pytest
from django.db import transaction

from leads import rulebook as rulebook_module
from leads.models import Persona, ScoringRule, ScoringState
from leads.rulebook import rulebook

pytestmark = pytest.mark.django_db


def rule(name: str = "Page viewed", points: int = 1) -> ScoringRule:
    return ScoringRule.objects.create(name=name, event_type="page_viewed", points=points)


def test_while_nothing_changes_the_rulebook_costs_one_small_query(django_assert_num_queries):
    rule()
    ScoringState.current()
    rulebook()
    with django_assert_num_queries(1):
        book = rulebook()
    assert [r.name for r in book.rules] == ["Page viewed"]


def test_any_save_or_delete_is_seen_on_the_next_read():
    first = rule()
    assert [r.points for r in rulebook().rules] == [1]
    ScoringRule.objects.filter(pk=first.pk).update(points=7)  # a bare update sends no signal…
    assert [r.points for r in rulebook().rules] == [1]
    first.refresh_from_db()
    first.save()  # …a save does, the admin's included
    assert [r.points for r in rulebook().rules] == [7]
    persona = Persona.objects.create(name="Ops", conditions=[])
    assert [p.name for p in rulebook().personas] == ["Ops"]
    persona.delete()
    assert rulebook().personas == []


def test_a_rolled_back_change_never_leaves_its_rules_cached():
    rule()
    with pytest.raises(RuntimeError), transaction.atomic():
        rule("Webinar", points=30)
        assert len(rulebook().rules) == 2  # read inside the change: cached under its token
        raise RuntimeError
    assert [r.name for r in rulebook().rules] == ["Page viewed"]


def test_without_the_state_row_nothing_is_cached(monkeypatch):
    monkeypatch.setattr(rulebook_module, "_cached", None)
    ScoringState.objects.all().delete()
    rulebook()
    assert rulebook_module._cached is None


def test_a_capture_after_an_edit_scores_by_the_edited_rule():
    """The scoped rescore's statement is kept per rulebook version, never past an edit."""
    from django.utils import timezone

    from leads.capture.ingest import EventIn, events_ingest
    from leads.models import Lead

    def capture(key: str) -> int:
        event = EventIn(email="a@x.io", type="page_viewed", occurred_at=timezone.now(), idempotency_key=key)
        events_ingest(events=[event])
        return Lead.objects.get(email="a@x.io").score

    edited = rule(points=5)
    ScoringState.current()
    assert capture("1") == 5 and capture("2") == 10
    edited.cap = 12
    edited.save()
    assert capture("3") == 12  # 15 points, capped by the edit
