"""Stage policies: what always happens when a lead enters a stage, whatever the playbooks say
(the seed's example, DESIGN.md "Stage policies").

- Entering `opportunity`: the lead leaves every playbook that sends promotional email (the
  rules that always hold already refuse promotional sends to it), moves from the "Newsletter"
  list to "Opportunities", and is enrolled in the "Conversion content" playbook.
- Entering `customer`: it leaves promotional and conversion playbooks, moves to "Customers",
  and is enrolled in "Onboarding and loyalty".
- Entering `recycled`: it goes back to the "Recycled nurture" playbook.

Lists and playbooks are named here, once; one that does not exist (or is not active) is simply
passed over, so an instance can opt out by renaming or pausing it. Run by the stage history's
reader (playbooks.engine.triggers) before the playbooks' own stage triggers.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q
from django.db.models.functions import Lower

from leads.models import Stage, StageChange
from playbooks.engine.enrol import enrolments_exit, leads_enrol
from playbooks.lists import services as lists
from playbooks.models import Enrollment, LeadList, ListMembership, Playbook


@dataclass(frozen=True)
class Policy:
    leave_promotional: bool = False
    leave_playbooks: tuple[str, ...] = ()
    list_from: tuple[str, ...] = ()
    list_to: str = ""
    enrol_in: str = ""


STAGE_POLICIES = {
    Stage.OPPORTUNITY: Policy(
        leave_promotional=True, list_from=("Newsletter",), list_to="Opportunities", enrol_in="Conversion content"
    ),
    Stage.CUSTOMER: Policy(
        leave_promotional=True,
        leave_playbooks=("Conversion content",),
        list_from=("Newsletter", "Opportunities"),
        list_to="Customers",
        enrol_in="Onboarding and loyalty",
    ),
    Stage.RECYCLED: Policy(enrol_in="Recycled nurture"),
}


def policy_lines(stage: str) -> list[str]:
    """The policy in words, for the playbooks page."""
    policy = STAGE_POLICIES[stage]
    lines = []
    if policy.leave_promotional:
        lines.append("leaves playbooks that send promotional email; promotional sends stop")
    if policy.leave_playbooks:
        lines.append("leaves " + ", ".join(f"“{name}”" for name in policy.leave_playbooks))
    if policy.list_to:
        moved = " and ".join(f"“{name}”" for name in policy.list_from)
        lines.append(f"moves from {moved} to “{policy.list_to}”" if moved else f"joins “{policy.list_to}”")
    if policy.enrol_in:
        lines.append(f"is enrolled in “{policy.enrol_in}”")
    return lines


def stage_policies_apply(changes: list[StageChange]) -> None:
    entering: dict[str, list[StageChange]] = defaultdict(list)
    for change in changes:
        if change.to_stage in STAGE_POLICIES:
            entering[change.to_stage].append(change)
    for stage, moves in entering.items():
        _apply(STAGE_POLICIES[stage], moves)


def _apply(policy: Policy, moves: list[StageChange]) -> None:
    lead_ids = sorted({m.lead_id for m in moves})
    leaving = Enrollment.objects.filter(lead_id__in=lead_ids, status=Enrollment.Status.ACTIVE)
    if policy.leave_promotional or policy.leave_playbooks:
        names = [name.lower() for name in policy.leave_playbooks]
        which = Playbook.objects.annotate(lower=Lower("name")).filter(Q(promotional=True) | Q(lower__in=names))
        ids = leaving.filter(playbook__in=which.values("pk")).values_list("pk", flat=True)
        enrolments_exit(ids=list(ids), reason="stage policy")
    if policy.list_to:
        _list_move(policy, lead_ids)
    if policy.enrol_in:
        playbook = _named(Playbook, policy.enrol_in)
        if playbook and playbook.status == Playbook.Status.ACTIVE:
            leads_enrol(playbook=playbook, causes=[(m.lead_id, f"policy:{m.pk}") for m in moves])


def _list_move(policy: Policy, lead_ids: list[int]) -> None:
    for name in policy.list_from:
        source = _named(LeadList, name)
        if source and source.kind == LeadList.Kind.STATIC:
            lists.list_remove_leads(lead_list=source, lead_ids=lead_ids)
    target = _named(LeadList, policy.list_to)
    if target and target.kind == LeadList.Kind.STATIC:
        lists.list_add_leads(lead_list=target, lead_ids=lead_ids, source=ListMembership.Source.POLICY)


def _named(model: type[LeadList] | type[Playbook], name: str) -> LeadList | Playbook | None:
    return model.objects.filter(name__iexact=name).first()
