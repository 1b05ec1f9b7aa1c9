"""The demo (settings.DEMO_EXTENSIONS) shows the last two weeks' packs, built by the real service
when beat would have built them, in the archive and the managers' outbox, with the first
meeting's action items: one closed the week after, one carried into the second pack."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from leads.demo import services as demo_services
from playbooks.models import OutboundEmail
from reports.pack.models import ActionItem, MeetingPack
from reports.pack.selectors import last_week

pytestmark = pytest.mark.django_db

LEADS = 60
DAYS = 60  # two whole weeks and their Monday builds, in the shortest span the journeys fit in


def test_the_demo_has_last_weeks_pack_in_the_archive_and_the_outbox(monkeypatch):
    monkeypatch.setattr(demo_services, "DEMO_DAYS", DAYS)
    call_command("seed_demo", "--leads", str(LEADS), stdout=StringIO())
    packs = list(MeetingPack.objects.order_by("week_start"))
    assert len(packs) == 2 and packs[-1].week_start <= last_week()
    assert (packs[1].week_start - packs[0].week_start).days == 7
    for pack in packs:
        assert pack.emailed_at is not None and pack.built_at.date() > pack.week_end
        assert timezone.localtime(pack.built_at).hour == 8
    mailed = OutboundEmail.objects.filter(lead__isnull=True, status=OutboundEmail.Status.SENT)
    assert {email.subject.split(":")[0] for email in mailed} == {f"Meeting pack {pack.week}" for pack in packs}
    assert set(mailed.values_list("to_email", flat=True)) >= {"manager@smarketing.example"}
    closed, carried = ActionItem.objects.order_by(F("closed_at").desc(nulls_last=True))
    assert closed.closed_at is not None and carried.closed_at is None
    assert [item["text"] for item in packs[1].figures["action_items"]] == [carried.text]
    assert {item["text"] for item in packs[0].figures["action_items"]} == set()  # opened at its meeting
    for pack in packs:  # the ROI's credits were current: every won cent is on a campaign's row or "(no campaign)"
        assert pack.figures["campaign_revenue_total"] == pack.figures["deals"]["won_revenue"]
