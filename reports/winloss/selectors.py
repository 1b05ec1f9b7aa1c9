"""Reads for the win/loss report: deals closed in a period, and sales' verdicts on handed-over leads.

Definitions (DESIGN, "Reports"), for a period [start, end) in the instance's zone:

- closed deals: deals in the won or the lost stage whose `closed_at` is in the period; per group
  the won and lost counts, the lost ones per lost reason, the won revenue (the won deals' amounts)
  and the win rate (won ÷ (won + lost));
- decisions: sales' verdicts on handed-over leads made in the period, read from the stage history
  as the worklog writes them — a person moving a lead out of MQL or SQL to opportunity (accepted),
  to disqualified (rejected) or to recycled (recycled); a rejection or recycle counts with its
  reason (the reason's label, as the history keeps it). A lost deal also sends its lead to
  recycled, but from opportunity: that is a loss, counted with the deals, not a recycle;
- the rule that qualified a lead: the rules that held (`matched_rules`) in the lead's latest
  qualification move (by a rule, into MQL or SQL) before the decision; a lead qualified by two
  rules counts on both rows; one that no rule qualified (handed over by hand) on "(no rule)".

Groups: the deal's owner or the person who decided (rep), the lead's first-touch source, its
persona, its first campaign, its definition version (`Lead.qualified_version`); decisions also
per reason and per qualifying rule. Every figure takes one or two set-based queries, however
many deals and decisions the period holds. Each read takes an optional `leads` (a Lead queryset:
the dashboard's filters) and counts only their deals and verdicts.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from leads.models import ChangeSource, Deal, DealStage, Lead, Stage, StageChange

BY_REP, BY_SOURCE, BY_PERSONA, BY_CAMPAIGN, BY_VERSION = "rep", "source", "persona", "campaign", "version"
BY_REASON, BY_RULE = "reason", "rule"
GROUPINGS = (BY_REP, BY_SOURCE, BY_PERSONA, BY_CAMPAIGN, BY_VERSION)
DECISION_GROUPINGS = (BY_REASON, *GROUPINGS, BY_RULE)
GROUPING_LABELS = {
    BY_REP: "Rep",
    BY_SOURCE: "Source",
    BY_PERSONA: "Persona",
    BY_CAMPAIGN: "Campaign",
    BY_VERSION: "Definition version",
    BY_REASON: "Reason",
    BY_RULE: "Qualifying rule",
}
NONE_LABELS = {
    BY_REP: "(no rep)",
    BY_SOURCE: "(no source)",
    BY_PERSONA: "(no persona)",
    BY_CAMPAIGN: "(no campaign)",
    BY_VERSION: "(no version)",
    BY_REASON: "(no reason)",
    BY_RULE: "(no rule)",
}
ACCEPTED, REJECTED, RECYCLED = "accepted", "rejected", "recycled"
VERDICTS = {Stage.OPPORTUNITY: ACCEPTED, Stage.DISQUALIFIED: REJECTED, Stage.RECYCLED: RECYCLED}
WORKED = (Stage.MQL, Stage.SQL)  # the stages sales decides on (leads.sales.worklog.WORKABLE)
PCT = Decimal("0.1")

Key = int | str | None


def pct(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` in percent, one decimal; None when `whole` is zero."""
    return (Decimal(part * 100) / whole).quantize(PCT) if whole else None


@dataclass
class ReasonCount:
    """How many of a row's lost deals (or rejections, or recycles) gave this reason."""

    label: str
    count: int
    kind: str = ""  # "lost", "rejected" or "recycled"
    share: Decimal | None = None  # of the row's deals (or decisions), in percent


@dataclass
class Row:
    """One group's closed deals in a period; money in the instance's currency."""

    key: Key
    label: str
    won: int = 0
    lost: int = 0
    won_revenue: Decimal = Decimal("0.00")
    reasons: list[ReasonCount] = field(default_factory=list)

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> Decimal | None:
        return pct(self.won, self.closed)


@dataclass
class DecisionRow:
    """One group's verdicts in a period: how many were decided, accepted, rejected and recycled,
    and the rejections and recycles per reason (each with its share of the decisions)."""

    key: Key
    label: str
    accepted: int = 0
    rejected: int = 0
    recycled: int = 0
    reasons: list[ReasonCount] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected + self.recycled

    @property
    def rejected_pct(self) -> Decimal | None:
        return pct(self.rejected, self.decided)

    @property
    def recycled_pct(self) -> Decimal | None:
        return pct(self.recycled, self.decided)


# --- Closed deals ------------------------------------------------------------------------------

DEAL_GROUP_FIELDS = {
    BY_REP: ("owner_id", "owner__username", "owner__first_name", "owner__last_name"),
    BY_SOURCE: ("lead__source",),
    BY_PERSONA: ("lead__scoring__persona_id", "lead__scoring__persona__name"),
    BY_CAMPAIGN: ("lead__first_campaign_id", "lead__first_campaign__name"),
    BY_VERSION: ("lead__qualified_version",),
}


def closed_deals(
    *, start: datetime, end: datetime, outcomes: tuple[str, ...] = ("won", "lost"), leads: QuerySet[Lead] | None = None
) -> QuerySet[Deal]:
    """The deals with one of `outcomes` closed in [start, end) (of `leads`' leads when given)."""
    deals = Deal.objects.filter(stage__outcome__in=outcomes, closed_at__gte=start, closed_at__lt=end)
    return deals if leads is None else deals.filter(lead__in=leads)


def deals_closed(*, start: datetime, end: datetime, by: str, leads: QuerySet[Lead] | None = None) -> list[Row]:
    """The deals closed in [start, end) per group (see the module), most closed first; one query."""
    if by not in GROUPINGS:
        raise ValueError(f"Unknown grouping {by!r}.")
    fields = DEAL_GROUP_FIELDS[by]
    counted = (
        closed_deals(start=start, end=end, leads=leads)
        .values(*fields, "stage__outcome", "lost_reason__label")
        .annotate(n=Count("id"), revenue=Sum("amount"))
        .order_by()
    )
    rows: dict[Key, Row] = {}
    lost: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for values in counted:
        key, label = _group(by, [values[name] for name in fields])
        row = rows.setdefault(key, Row(key=key, label=label))
        if values["stage__outcome"] == DealStage.Outcome.WON:
            row.won += values["n"]
            row.won_revenue += values["revenue"] or Decimal("0.00")
        else:
            row.lost += values["n"]
            lost[key][values["lost_reason__label"] or NONE_LABELS[BY_REASON]] += values["n"]
    for key, row in rows.items():
        row.reasons = _reasons(lost[key], "lost", row.closed)
    return sorted(rows.values(), key=lambda row: (row.key is None, -row.closed, -row.won, row.label.casefold()))


def deals_totals(rows: list[Row]) -> Row:
    totals = Row(key="total", label="Total")
    reasons: dict[str, int] = defaultdict(int)
    for row in rows:
        totals.won += row.won
        totals.lost += row.lost
        totals.won_revenue += row.won_revenue
        for reason in row.reasons:
            reasons[reason.label] += reason.count
    totals.reasons = _reasons(reasons, "lost", totals.closed)
    return totals


# --- Sales' verdicts -----------------------------------------------------------------------------

DECISION_GROUP_FIELDS = {
    BY_REP: ("changed_by_id", "changed_by__username", "changed_by__first_name", "changed_by__last_name"),
    BY_SOURCE: ("lead__source",),
    BY_PERSONA: ("lead__scoring__persona_id", "lead__scoring__persona__name"),
    BY_CAMPAIGN: ("lead__first_campaign_id", "lead__first_campaign__name"),
    BY_VERSION: ("lead__qualified_version",),
    BY_REASON: ("reason",),
    BY_RULE: (),
}


def rejections(*, start: datetime, end: datetime, by: str, leads: QuerySet[Lead] | None = None) -> list[DecisionRow]:
    """Sales' verdicts in [start, end) per group (see the module): rejections and recycles per
    reason against all decisions, most rejected and recycled first.

    1. read the period's decisions counted per verdict, reason and the group's fields (1 query,
       grouped in the database); per rule, read each decision instead (1 query);
    2. per rule only: read the qualification moves of the decided leads (1 query) and give each
       decision the rules of its lead's latest one before it;
    3. count the decisions on their group's row (or on each of their rules' rows).
    """
    if by not in DECISION_GROUPINGS:
        raise ValueError(f"Unknown grouping {by!r}.")
    fields = DECISION_GROUP_FIELDS[by]
    decided = decisions_in(start=start, end=end, leads=leads)
    rules: dict[int, list[str]] = {}
    if by == BY_RULE:
        decisions = list(
            decided.values("id", "lead_id", "changed_at", "to_stage", "reason").order_by("changed_at", "id")
        )
        rules = _qualifying_rules(decisions, end=end)
        counted = [(decision, 1) for decision in decisions]
    else:
        names = dict.fromkeys(["to_stage", "reason", *fields])
        counted = [(values, values["n"]) for values in decided.values(*names).annotate(n=Count("id")).order_by()]
    rows: dict[Key, DecisionRow] = {}
    reasons: dict[Key, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for decision, n in counted:
        verdict = VERDICTS[decision["to_stage"]]
        if by == BY_RULE:
            groups = [(rule, rule) for rule in rules.get(decision["id"], [])] or [(None, NONE_LABELS[BY_RULE])]
        elif by == BY_REASON:
            # A rejection and a recycle may share a label ("Other"); an acceptance has no reason.
            groups = [(f"{verdict}:{decision['reason']}", decision["reason"])] if verdict != ACCEPTED else []
            groups = groups or [(ACCEPTED, "(accepted)")]
        else:
            groups = [_group(by, [decision[name] for name in fields])]
        for key, label in groups:
            row = rows.setdefault(key, DecisionRow(key=key, label=label))
            setattr(row, verdict, getattr(row, verdict) + n)
            if verdict != ACCEPTED:
                reasons[key][(verdict, decision["reason"])] += n
    for key, row in rows.items():
        row.reasons = [
            ReasonCount(label=label, count=count, kind=kind, share=pct(count, row.decided))
            for (kind, label), count in sorted(reasons[key].items(), key=lambda item: (-item[1], item[0]))
        ]
    return sorted(rows.values(), key=_decision_order)


def decisions_in(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> Any:
    """The verdicts made in [start, end): a person's move out of MQL or SQL to opportunity, or to
    disqualified or recycled with a reason."""
    decisions = StageChange.objects.filter(
        Q(to_stage=Stage.OPPORTUNITY) | Q(to_stage__in=[Stage.DISQUALIFIED, Stage.RECYCLED]) & ~Q(reason=""),
        source=ChangeSource.USER,
        from_stage__in=WORKED,
        changed_at__gte=start,
        changed_at__lt=end,
    )
    return decisions if leads is None else decisions.filter(lead__in=leads)


def verdict_leads(
    *, start: datetime, end: datetime, verdict: str, reason: str | None = None, leads: QuerySet[Lead] | None = None
) -> QuerySet[Lead]:
    """The leads behind a verdict figure: accepted, or rejected or recycled (for one reason when given)."""
    stage = next(stage for stage, name in VERDICTS.items() if name == verdict)
    decisions = decisions_in(start=start, end=end, leads=leads).filter(to_stage=stage)
    if reason is not None:
        decisions = decisions.filter(reason=reason)
    return Lead.objects.filter(pk__in=decisions.values("lead_id"))


def decisions_totals(rows: list[DecisionRow]) -> DecisionRow:
    """The totals of rows that each hold a decision once (any grouping but per rule)."""
    totals = DecisionRow(key="total", label="Total")
    reasons: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        totals.accepted += row.accepted
        totals.rejected += row.rejected
        totals.recycled += row.recycled
        for reason in row.reasons:
            reasons[(reason.kind, reason.label)] += reason.count
    totals.reasons = [
        ReasonCount(label=label, count=count, kind=kind, share=pct(count, totals.decided))
        for (kind, label), count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    return totals


@dataclass(frozen=True)
class Finding:
    """ "Leads qualified by R were rejected as no budget 40 % of the time (4 of 10)"."""

    rule: str
    kind: str
    reason: str
    count: int
    decided: int
    share: Decimal

    @property
    def sentence(self) -> str:
        verb = "rejected" if self.kind == REJECTED else "recycled"
        reason = self.reason[:1].lower() + self.reason[1:]
        share = f"{self.share.normalize():f}"
        return (
            f"Leads qualified by “{self.rule}” were {verb} as {reason} {share} % of the time "
            f"({self.count} of {self.decided})"
        )


def rule_findings(rows: list[DecisionRow], *, top: int = 5) -> list[Finding]:
    """The per-rule rows' largest reason shares, as sentences (rules only, not "(no rule)")."""
    findings = [
        Finding(
            rule=row.label,
            kind=reason.kind,
            reason=reason.label,
            count=reason.count,
            decided=row.decided,
            share=reason.share or Decimal(0),
        )
        for row in rows
        if row.key is not None
        for reason in row.reasons
    ]
    return sorted(findings, key=lambda f: (-f.share, -f.count, f.rule.casefold(), f.reason))[:top]


def _qualifying_rules(decisions: list[dict[str, Any]], *, end: datetime) -> dict[int, list[str]]:
    """Each decision's rules: those of its lead's latest qualification move before it; one query."""
    if not decisions:
        return {}
    moves = (
        StageChange.objects.filter(
            source=ChangeSource.RULE,
            to_stage__in=WORKED,
            lead_id__in={decision["lead_id"] for decision in decisions},
            changed_at__lt=end,
        )
        .order_by("lead_id", "changed_at", "id")
        .values_list("lead_id", "id", "changed_at", "matched_rules")
    )
    by_lead: dict[int, list[tuple[datetime, int, list[str]]]] = defaultdict(list)
    for lead_id, move_id, changed_at, matched in moves:
        by_lead[lead_id].append((changed_at, move_id, list(matched or [])))
    found: dict[int, list[str]] = {}
    for decision in decisions:
        before = [move for move in by_lead.get(decision["lead_id"], []) if move[0] <= decision["changed_at"]]
        if before:
            found[decision["id"]] = list(dict.fromkeys(before[-1][2]))
    return found


def _group(by: str, values: list[Any]) -> tuple[Key, str]:
    """A row's key and label from the grouping's fields (an id and its names, or one value)."""
    key = values[0]
    if key is None or key == "":
        return None, NONE_LABELS[by]
    if by == BY_REP:
        username, first, last = values[1:]
        return key, f"{first} {last}".strip() or username
    if by in (BY_PERSONA, BY_CAMPAIGN):
        return key, values[1]
    if by == BY_VERSION:
        return key, f"Version {key}"
    return key, str(key)


def _reasons(counts: dict[str, int], kind: str, whole: int) -> list[ReasonCount]:
    return [
        ReasonCount(label=label, count=count, kind=kind, share=pct(count, whole))
        for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _decision_order(row: DecisionRow) -> tuple[bool, int, int, str]:
    return (row.key is None, -(row.rejected + row.recycled), -row.decided, row.label.casefold())


# --- The report ----------------------------------------------------------------------------------


@dataclass
class WinLossReport:
    by: str
    start: datetime
    end: datetime
    deals: list[Row]
    deals_totals: Row
    decisions: list[DecisionRow]  # per `by`
    decisions_totals: DecisionRow
    reasons: list[DecisionRow]  # per reason
    rules: list[DecisionRow]  # per qualifying rule
    findings: list[Finding]


def win_loss_report(*, start: datetime, end: datetime, by: str) -> WinLossReport:
    """Both parts for [start, end): closed deals and verdicts per `by`, the verdicts per reason
    and per qualifying rule, and the rules' largest reason shares as sentences; five queries."""
    deals = deals_closed(start=start, end=end, by=by)
    decisions = rejections(start=start, end=end, by=by)
    rules = rejections(start=start, end=end, by=BY_RULE)
    return WinLossReport(
        by=by,
        start=start,
        end=end,
        deals=deals,
        deals_totals=deals_totals(deals),
        decisions=decisions,
        decisions_totals=decisions_totals(decisions),
        reasons=rejections(start=start, end=end, by=BY_REASON),
        rules=rules,
        findings=rule_findings(rules),
    )
