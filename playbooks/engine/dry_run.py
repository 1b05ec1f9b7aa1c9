"""A playbook tried without sending: who would enter now, and what each would receive over the
next 30 days. Nothing is written; the rules that always hold are asked as at a real send, and
the walk counts its own promotional emails against the weekly cap."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from leads.models import Event, Lead
from playbooks.email import rules
from playbooks.engine.conditions import leads_holding
from playbooks.engine.enrol import leads_allowed
from playbooks.engine.runner import next_weekday_hour, stage_reached
from playbooks.engine.shape import STEPS
from playbooks.lists.selectors import list_members
from playbooks.models import EmailTemplate, LeadList, Playbook, TemplateKind

HORIZON = timedelta(days=30)
SHOWN = 25
LOOKBACK = timedelta(days=30)  # a stage or event trigger: who it took over the past 30 days
COUNT_AT_MOST = 100_000


def playbook_dry_run(*, playbook: Playbook, now: datetime | None = None, shown: int = SHOWN) -> dict[str, Any]:
    now = now or timezone.now()
    candidates, source = _candidates(playbook, now)
    ids = list(candidates.values_list("pk", flat=True)[:COUNT_AT_MOST]) if candidates is not None else []
    entering = leads_allowed(playbook, ids, now) if ids else []
    leads = Lead.objects.filter(pk__in=entering[:shown]).select_related("scoring").order_by("pk")
    templates = {t.pk: t for t in EmailTemplate.objects.all()}
    lists = {item.pk: item.name for item in LeadList.objects.all()}
    plans = [{"lead": lead, "steps": _walk(playbook, lead, now, templates, lists)} for lead in leads]
    emails: dict[str, int] = {}
    for plan in plans:
        for step in plan["steps"]:
            if step["type"] == "email" and not step.get("refused"):
                emails[step["what"]] = emails.get(step["what"], 0) + 1
    return {
        "entering": len(entering),
        "capped": len(ids) >= COUNT_AT_MOST,
        "source": source,
        "shown": len(plans),
        "horizon_days": HORIZON.days,
        "emails_among_shown": emails,
        "leads": plans,
    }


def _candidates(playbook: Playbook, now: datetime) -> tuple[QuerySet[Lead] | None, str]:
    trigger = playbook.trigger
    kind = trigger.get("type")
    since = now - LOOKBACK
    if kind == "stage_entered":
        leads = Lead.objects.filter(stage=trigger["stage"], stage_changed_at__gte=since)
        return leads, f"leads that entered {trigger['stage']} in the past 30 days"
    if kind in ("event", "form_submitted"):
        event, where = (
            ("form_submitted", {"form": trigger["form"]})
            if kind == "form_submitted"
            else (trigger["event"], trigger.get("where") or {})
        )
        events = Event.objects.filter(type=event, occurred_at__gte=since, occurred_at__lte=now)
        for key, value in where.items():
            events = events.filter(**{f"properties__{key}": value})
        return Lead.objects.filter(pk__in=events.values("lead_id")), f"leads with {event} in the past 30 days"
    if kind == "score_crossed":
        return Lead.objects.filter(
            scoring__score__gte=trigger["value"]
        ), f"leads scoring {trigger['value']} or more now"
    if kind == "list_joined":
        lead_list = LeadList.objects.filter(pk=trigger.get("list")).first()
        if lead_list is None:
            return None, "the list was deleted"
        return list_members(lead_list), f"the members of “{lead_list.name}” now"
    return None, "leads enrolled by hand: nobody enters on their own"


def _walk(
    playbook: Playbook, lead: Lead, now: datetime, templates: dict[int, EmailTemplate], lists: dict[int, str]
) -> list[dict[str, Any]]:
    leaving = _exit_reason(playbook, lead, now)
    if leaving:
        return [{"at": now, "step": "", "type": "exit", "what": f"would leave at once: {leaving}"}]
    steps, keys = playbook.steps, [step["key"] for step in playbook.steps]
    moment, position, promotional = now, 0, []
    plan: list[dict[str, Any]] = []
    while position < len(steps):
        step = steps[position]
        kind, jump = step["type"], "next"
        line: dict[str, Any] = {"at": moment, "step": step["key"], "type": kind, "what": STEPS[kind]}
        if kind in ("wait", "wait_until"):
            if kind == "wait":
                moment = moment + timedelta(days=step.get("days", 0), hours=step.get("hours", 0))
            else:
                moment = next_weekday_hour(moment, step.get("weekday"), step["hour"])
            line["what"] = f"wait until {timezone.localtime(moment):%a %d %b %H:%M}"
            if moment > now + HORIZON:
                plan.append({**line, "what": line["what"] + " (after the 30 days shown)"})
                return plan
        elif kind == "email":
            template = templates.get(step["template"])
            line["what"] = template.name if template else "(template deleted)"
            refused = rules.refusal(lead, template.kind) if template else "deleted"
            if template and not refused and template.kind == TemplateKind.PROMOTIONAL:
                week = [at for at in promotional if at > moment - timedelta(days=7)]
                if (
                    len(week) + rules.promotional_this_week([lead]).get(lead.pk, 0)
                    >= settings.EMAIL_PROMOTIONAL_PER_WEEK
                ):
                    refused = "frequency_cap"
                else:
                    promotional.append(moment)
            line["refused"] = refused
        elif kind in ("list_add", "list_remove"):
            line["what"] = f"{STEPS[kind]}: {lists.get(step['list'], '(list deleted)')}"
        elif kind == "branch":
            holds = lead.pk in leads_holding(step["condition"], [lead.pk], now=now)
            jump = step.get("then" if holds else "else", "next")
            line["what"] = (
                f"condition {'holds' if holds else 'does not hold'}: {jump if jump != 'next' else 'next step'}"
            )
        elif kind == "set_stage":
            line["what"] = f"move to {step['stage']}"
        elif kind == "set_field":
            line["what"] = f"set {step['field']} to {step['value']}"
        elif kind == "webhook":
            line["what"] = f"call {step['url']}"
        elif kind in ("notify_owner", "create_task"):
            line["what"] = f"{STEPS[kind]}: {step.get('text') or step.get('title')}"
        plan.append(line)
        if jump == "exit":
            plan.append({"at": moment, "step": step["key"], "type": "exit", "what": "leaves the playbook"})
            return plan
        position = position + 1 if jump == "next" else keys.index(jump)
    return plan


def _exit_reason(playbook: Playbook, lead: Lead, now: datetime) -> str:
    if lead.unsubscribed_at:
        return "unsubscribed"
    for rule in playbook.exits:
        if rule["type"] == "stage_reached" and stage_reached(lead.stage, rule["stage"]):
            return f"reached {rule['stage']}"
        if rule["type"] == "goal" and lead.pk in leads_holding(rule["condition"], [lead.pk], now=now):
            return "goal met"
    return ""
