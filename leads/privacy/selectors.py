"""Everything the product holds about one lead, as one JSON document (a data subject's copy).

leads/ writes its own parts here; an app built on it (playbooks: lists, enrolments, emails,
referrals) registers a part of its own when it is ready (`lead_data_part_register`, from its
AppConfig), so leads/ never imports it. Each part reads its rows in a fixed number of queries,
however many the lead has, and scrubs its own rows when the lead is erased.
"""

import json
from typing import Any, Protocol

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from leads.models import (
    LEAD_PROFILE_FIELDS,
    Activity,
    AssignmentLog,
    ChangeSource,
    Deal,
    DealChange,
    EngagementRollup,
    Event,
    Handoff,
    Lead,
    LeadErasure,
    LeadMerge,
    Stage,
)
from leads.scoring.selectors import score_explained

EXPORT_FORMAT = "smarketing.lead-export/1"

# Stage moves a person makes on sales' side: its verdicts on the lead.
VERDICT_STAGES = (Stage.OPPORTUNITY, Stage.DISQUALIFIED, Stage.RECYCLED)


class LeadDataPart(Protocol):
    """What an app adds to a lead's export (top-level keys) and does on its erasure (returns
    how many rows of each kind it scrubbed). `addresses` are the erased addresses, normalized."""

    def export(self, lead: Lead) -> dict[str, Any]: ...

    def erase(self, lead: Lead, *, addresses: list[str]) -> dict[str, int]: ...


_parts: dict[str, LeadDataPart] = {}


def lead_data_part_register(name: str, part: LeadDataPart) -> None:
    """An app's part, by a name of its own (registering again under a name replaces it)."""
    _parts[name] = part


def lead_data_parts() -> list[LeadDataPart]:
    return [_parts[name] for name in sorted(_parts)]


def _person(user: Any) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None


def _row(obj: models.Model, names: list[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def lead_export(lead: Lead) -> dict[str, Any]:
    """One document: the lead's fields and everything recorded about it, each app's part included;
    plain JSON values (times as ISO 8601 text, money as decimal text, never a float)."""
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "lead": _lead_fields(lead),
        "erasure": _erasure(lead),
        "score": _score(lead),
        "events": _events(lead),
        "stage_history": _stage_history(lead),
        "qualification": _qualification(lead),
        "sales": _sales(lead),
        "deals": _deals(lead),
        "merges": _merges(lead),
    }
    for part in lead_data_parts():
        document |= part.export(lead)
    return json.loads(DjangoJSONEncoder().encode(document))


def lead_export_json(lead: Lead) -> str:
    return json.dumps(lead_export(lead), indent=2, ensure_ascii=False)


def _lead_fields(lead: Lead) -> dict[str, Any]:
    fields = ["id", "email", *LEAD_PROFILE_FIELDS, "stage", "qualified_version", "consent", "consent_at"]
    fields += ["unsubscribed_at", "source", "first_touch", "last_source", "last_touch", "last_touch_at"]
    fields += ["created_at", "updated_at", "stage_changed_at"]
    return _row(lead, fields) | {
        "owner": _person(lead.owner),
        "first_campaign": str(lead.first_campaign) if lead.first_campaign_id else None,
        "last_campaign": str(lead.last_campaign) if lead.last_campaign_id else None,
    }


def _erasure(lead: Lead) -> dict[str, Any] | None:
    erasure = LeadErasure.objects.filter(lead=lead).select_related("erased_by").first()
    if erasure is None:
        return None
    return {"erased_at": erasure.erased_at, "erased_by": _person(erasure.erased_by), "counts": erasure.counts}


def _score(lead: Lead) -> dict[str, Any]:
    """The current score and its rows; the product keeps no past scores, only the per-rule
    engagement rollups they are computed from, which are listed too."""
    card = lead.scorecard
    rollups = EngagementRollup.objects.filter(lead=lead).select_related("rule").order_by("rule__name")
    return {
        "fit": card.fit,
        "engagement": card.engagement,
        "score": card.score,
        "persona": str(card.persona) if card.persona_id else None,
        "breakdown": card.breakdown,
        "rows": score_explained(lead),
        "engagement_by_rule": [{"rule": r.rule.name, "value": round(r.value, 4)} for r in rollups],
    }


def _events(lead: Lead) -> list[dict[str, Any]]:
    events = Event.objects.filter(lead=lead).select_related("campaign").order_by("occurred_at", "id")
    names = ["id", "type", "occurred_at", "received_at", "properties", "idempotency_key"]
    return [_row(event, names) | {"campaign": str(event.campaign) if event.campaign_id else None} for event in events]


def _stage_history(lead: Lead) -> list[dict[str, Any]]:
    changes = lead.stage_changes.select_related("changed_by").order_by("changed_at", "id")
    names = ["from_stage", "to_stage", "changed_at", "source", "playbook_id", "definition_version"]
    names += ["matched_rules", "reason", "note"]
    return [_row(change, names) | {"changed_by": _person(change.changed_by)} for change in changes]


def _qualification(lead: Lead) -> dict[str, Any]:
    """Why rules qualified the lead, and sales' verdicts on it (accepted, rejected, recycled)."""
    changes = lead.stage_changes.select_related("changed_by").order_by("changed_at", "id")
    changes = changes.filter(models.Q(source=ChangeSource.RULE) | models.Q(to_stage__in=VERDICT_STAGES))
    by_rules, verdicts = [], []
    for change in changes:
        if change.source == ChangeSource.RULE:
            by_rules.append(_row(change, ["to_stage", "changed_at", "definition_version", "matched_rules"]))
        else:
            row = _row(change, ["to_stage", "changed_at", "reason", "note"])
            verdicts.append(row | {"by": _person(change.changed_by)})
    return {"by_rules": by_rules, "sales_verdicts": verdicts}


def _sales(lead: Lead) -> dict[str, Any]:
    handoff = Handoff.objects.filter(lead=lead).select_related("team", "assigned_to").first()
    activities = Activity.objects.filter(lead=lead).select_related("by").order_by("occurred_at", "id")
    assignments = AssignmentLog.objects.filter(lead=lead).select_related("team", "from_rep", "to_rep", "by")
    return {
        "handoff": _handoff(handoff) if handoff else None,
        "activities": [
            _row(a, ["kind", "outcome", "note", "next_step_on", "occurred_at"]) | {"by": _person(a.by)}
            for a in activities
        ],
        "assignments": [
            _row(a, ["action", "reason", "note", "at"])
            | {
                "team": str(a.team) if a.team_id else None,
                "from_rep": _person(a.from_rep),
                "to_rep": _person(a.to_rep),
                "by": _person(a.by),
            }
            for a in assignments.order_by("at", "id")
        ],
    }


def _handoff(handoff: Handoff) -> dict[str, Any]:
    names = ["stage", "status", "why", "handed_off_at", "deadline", "first_touch_at", "overdue_at"]
    names += ["reassign_count", "revisit_on", "closed_at"]
    return _row(handoff, names) | {
        "team": str(handoff.team) if handoff.team_id else None,
        "assigned_to": _person(handoff.assigned_to),
    }


def _deals(lead: Lead) -> list[dict[str, Any]]:
    deals = list(Deal.objects.filter(lead=lead).select_related("owner", "stage", "lost_reason").order_by("created_at"))
    changes: dict[int, list[dict[str, Any]]] = {deal.pk: [] for deal in deals}
    for change in DealChange.objects.filter(deal__in=deals).select_related("by").order_by("at", "id"):
        row = _row(change, ["at", "action", "changes", "note"]) | {"by": _person(change.by)}
        changes[change.deal_id].append(row)
    names = ["id", "name", "amount", "expected_close_on", "lost_note", "created_at", "closed_at"]
    return [
        _row(deal, names)
        | {
            "currency": settings.CURRENCY,
            "stage": deal.stage.name,
            "outcome": deal.stage.outcome,
            "lost_reason": str(deal.lost_reason) if deal.lost_reason_id else None,
            "owner": _person(deal.owner),
            "changes": changes[deal.pk],
        }
        for deal in deals
    ]


def _merges(lead: Lead) -> list[dict[str, Any]]:
    merges = LeadMerge.objects.filter(survivor=lead).select_related("merged_by").order_by("merged_at")
    names = ["merged_lead_id", "merged_email", "snapshot", "merged_at"]
    return [_row(merge, names) | {"merged_by": _person(merge.merged_by)} for merge in merges]
