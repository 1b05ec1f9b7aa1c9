"""The sales API (under /api/v1/): the queue and claiming, verdicts and activities on a lead,
deals, the agreement, reasons, notifications, teams and assignment rules, and handing a lead
to sales by hand.

Who may do what:
- A rep (Sales) works their own leads and deals and claims from their pools; another rep's
  lead or deal answers 404, as if it did not exist.
- A manager works their teams' leads and deals, may hand deals to another rep, reopen
  closed deals and set the agreement.
- Marketers read leads' activities and the agreement, and work nothing here (403); they (and
  managers) may hand a lead to sales by hand.
- Teams: a manager their own (another's answers 404), an administrator all. Assignment rules:
  any manager, since one ordered list routes every team's leads (leads/sales/teams.py).
Every view parses, checks permission, calls one service and renders; a SalesError from a
service becomes a 4xx with a message for the field at fault (smarketing.lib.api).
"""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import AssignmentRule, Deal, DealStage, Lead, Reason, RepProfile, Team
from leads.sales import deals, notifications, queue, selectors, teams, worklog
from leads.sales.manual_handoff import lead_hand_off_by_hand
from leads.sales.serializers import (
    AcceptIn,
    ActivityIn,
    ActivityOut,
    DealCreateIn,
    DealLostIn,
    DealOut,
    DealQueryIn,
    DealReopenIn,
    DealStageOut,
    DealUpdateIn,
    DealWonIn,
    HandOffIn,
    HandoffOut,
    NotificationOut,
    NotificationsReadIn,
    QueueItemOut,
    QueueOut,
    QueueQueryIn,
    ReasonOut,
    ReasonQueryIn,
    RecycleIn,
    RejectIn,
    RepProfileIn,
    RuleIn,
    RuleOut,
    RulesOrderIn,
    TeamDetailOut,
    TeamIn,
    TeamOut,
    TeamRepIn,
    TeamUpdateIn,
    VerdictOut,
)
from leads.sales.services import SalesError
from leads.selectors import lead_for_user
from leads.serializers import LeadOut
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, paginated, roles, valid
from smarketing.roles import Role, has_role

SALES = (Role.SALES, Role.MANAGER)
ANY_ROLE = (Role.MARKETING, Role.SALES, Role.MANAGER)


class QueueView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="A rep's queue",
        description=(
            "The rep's open leads, untouched ones first by first-touch deadline (overdue at the top), with "
            "countdowns; open leads against capacity and how many wait in the rep's pools. Managers may pass "
            "`rep` for a rep in one of their teams."
        ),
        parameters=[QueueQueryIn],
        responses={200: QueueOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        rep = self._rep(valid(QueueQueryIn, request.query_params).get("rep"))
        return Response(QueueOut(queue.queue_overview(rep=rep)).data)

    def _rep(self, rep_id: int | None) -> Any:
        user = self.request.user
        if rep_id is None and not has_role(user, Role.SALES):
            raise SalesError("Managers name the rep whose queue they want.", field="rep")
        return user if rep_id is None else selectors.rep_for_user(user, rep_id)


class ClaimView(APIView):
    permission_classes = roles(Role.SALES)
    # One instance for every claim: a serializer builds its fields anew per instance (the lead's
    # ModelSerializer reads the model's fields each time), a fifth of a claim's Python time.
    # to_representation keeps no state, so requests and threads share it safely.
    reply = QueueItemOut()

    @extend_schema(
        summary="Claim the next lead",
        description=(
            "Takes the best lead waiting in your team's pool or the general pool (highest score, then oldest) "
            "and makes it yours. 204 when nothing is waiting; 409 when you already hold your capacity."
        ),
        request=None,
        responses={
            200: QueueItemOut,
            204: OpenApiResponse(description="Nothing left to claim."),
            403: REFUSED,
            409: ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        handoff = queue.lead_claim_next(rep=request.user)
        if handoff is None:
            return Response(status=204)
        return Response(self.reply.to_representation(queue.queue_row(handoff)))


def verdict_body(lead: Lead, change: Any) -> dict[str, Any]:
    lead.refresh_from_db()
    return {"lead": lead, "reason": change.reason, "note": change.note, "changed_at": change.changed_at}


class LeadAcceptView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="Accept a lead",
        description="Sales accepts: the lead becomes an opportunity and a deal is opened in the first stage.",
        request=AcceptIn,
        responses={
            200: inline_serializer("AcceptOut", {"lead": LeadOut(), "deal": DealOut()}),
            400: ERRORS,
            403: REFUSED,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk, work=True)
        data = valid(AcceptIn, request.data)
        deal = worklog.lead_accept(lead=lead, by=request.user, note=data["note"])
        lead.refresh_from_db()
        return Response({"lead": LeadOut(lead).data, "deal": DealOut(deal).data})


class LeadRejectView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="Reject a lead",
        description="The lead is disqualified. `reason` is a code from the reject list; “other” needs `text`.",
        request=RejectIn,
        responses={200: VerdictOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk, work=True)
        data = valid(RejectIn, request.data)
        change = worklog.lead_reject(lead=lead, by=request.user, reason=data["reason"], text=data["text"])
        return Response(VerdictOut(verdict_body(lead, change)).data)


class LeadRecycleView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="Recycle a lead to marketing",
        description="Back to marketing's nurture with a reason; on `revisit_on` it is requalified.",
        request=RecycleIn,
        responses={200: VerdictOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk, work=True)
        data = valid(RecycleIn, request.data)
        change = worklog.lead_recycle(
            lead=lead, by=request.user, reason=data["reason"], text=data["text"], revisit_on=data["revisit_on"]
        )
        return Response(VerdictOut(verdict_body(lead, change)).data)


class LeadActivitiesView(APIView):
    """GET: anyone who may see the lead; POST: the rep working it or their manager."""

    pagination_class = Pages  # read by the schema, which then shows the page envelope

    def get_permissions(self) -> list[BasePermission]:
        allowed = SALES if self.request.method == "POST" else ANY_ROLE
        return [permission() for permission in roles(*allowed)]

    @extend_schema(
        summary="A lead's activities",
        responses={200: ActivityOut(many=True), 403: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)  # whoever may open the lead reads its activities
        return paginated(self, request, worklog.activities_for(lead), ActivityOut)

    @extend_schema(
        summary="Log an activity",
        description=(
            "Call, email, meeting, demo, proposal, negotiation or note, with outcome and next-step date. The "
            "first one stops the speed-to-lead clock. 201 when stored; 200 with the first activity when the "
            "same `client_token` was sent before (a double-submitted form makes one activity)."
        ),
        request=ActivityIn,
        responses={201: ActivityOut, 200: ActivityOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND, 409: ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk, work=True)
        data = worklog.ActivityIn(**valid(ActivityIn, request.data))
        activity, created = worklog.activity_log(lead=lead, by=request.user, data=data)
        return Response(ActivityOut(activity).data, status=201 if created else 200)


def deal_rows(user: Any) -> QuerySet[Deal]:
    return selectors.deals_visible_to(user).select_related(
        "lead", "lead__owner", "lead__scoring__persona", "lead__first_campaign", "stage", "owner"
    )


class DealsView(APIView):
    permission_classes = roles(*SALES)
    pagination_class = Pages

    @extend_schema(
        summary="List deals",
        description="Yours (rep) or your teams' (manager), newest first; filter by `stage` id or `open`.",
        parameters=[DealQueryIn],
        responses={200: DealOut(many=True), 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(DealQueryIn, request.query_params)
        rows = deal_rows(request.user)
        if "stage" in query:
            rows = rows.filter(stage_id=query["stage"])
        if query.get("open") is not None:
            rows = rows.filter(closed_at__isnull=query["open"])
        return paginated(self, request, rows.order_by("-created_at", "-id"), DealOut)

    @extend_schema(
        summary="Open a deal",
        description="On an accepted lead (opportunity, or a customer's new business) with no open deal.",
        request=DealCreateIn,
        responses={201: DealOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request) -> Response:
        data = valid(DealCreateIn, request.data)
        lead = lead_for_user(request.user, data.pop("lead"), work=True)
        owner_id = lead.owner_id or request.user.pk
        deal = deals.deal_open(lead=lead, owner_id=owner_id, by=request.user, **data)
        return Response(DealOut(deal_rows(request.user).get(pk=deal.pk)).data, status=201)


class DealDetailView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(summary="One deal", responses={200: DealOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(DealOut(selectors.deal_for_user(request.user, pk)).data)

    @extend_schema(
        summary="Change a deal",
        description=(
            "Name, amount, expected close, an open stage, or (managers) the owner. Won and lost go through "
            "their own endpoints; a closed deal changes only after a manager reopens it (403)."
        ),
        request=DealUpdateIn,
        responses={200: DealOut, 400: ERRORS, 403: ERRORS, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        deal = selectors.deal_for_user(request.user, pk)
        changes = valid(DealUpdateIn, request.data)
        deals.deal_update(deal=deal, by=request.user, changes=changes)
        return Response(DealOut(deal_rows(request.user).get(pk=pk)).data)


class DealWonView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="Mark a deal won",
        description="The deal closes as won (optionally with its final amount); its lead becomes a customer.",
        request=DealWonIn,
        responses={200: DealOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        deal = selectors.deal_for_user(request.user, pk)
        deals.deal_win(deal=deal, by=request.user, amount=valid(DealWonIn, request.data)["amount"])
        return Response(DealOut(deal_rows(request.user).get(pk=pk)).data)


class DealLostView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="Mark a deal lost",
        description="`reason` is a code from the lost list (“other” needs `note`); the lead goes back to marketing.",
        request=DealLostIn,
        responses={200: DealOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        deal = selectors.deal_for_user(request.user, pk)
        data = valid(DealLostIn, request.data)
        deals.deal_lose(deal=deal, by=request.user, reason=data["reason"], note=data["note"])
        return Response(DealOut(deal_rows(request.user).get(pk=pk)).data)


class DealReopenView(APIView):
    permission_classes = roles(*SALES)

    @extend_schema(
        summary="Reopen a closed deal (managers)",
        description="A correction: the deal goes back to an open stage and its lead is an opportunity again.",
        request=DealReopenIn,
        responses={200: DealOut, 400: ERRORS, 403: ERRORS, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        deal = selectors.deal_for_user(request.user, pk)
        data = valid(DealReopenIn, request.data)
        deals.deal_reopen(deal=deal, by=request.user, stage=data["stage"], note=data["note"])
        return Response(DealOut(deal_rows(request.user).get(pk=pk)).data)


class DealStagesView(APIView):
    permission_classes = roles(*ANY_ROLE)

    @extend_schema(summary="Pipeline stages", responses={200: DealStageOut(many=True), 403: REFUSED})
    def get(self, request: Request) -> Response:
        return Response(DealStageOut(DealStage.objects.order_by("position", "id"), many=True).data)


class ReasonsView(APIView):
    permission_classes = roles(*ANY_ROLE)

    @extend_schema(
        summary="Managed reason lists",
        description="Active reasons for rejecting or recycling a lead and for losing a deal.",
        parameters=[ReasonQueryIn],
        responses={200: ReasonOut(many=True), 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        kind = valid(ReasonQueryIn, request.query_params).get("kind")
        rows = Reason.objects.filter(is_active=True)
        return Response(ReasonOut(rows.filter(kind=kind) if kind else rows, many=True).data)


class NotificationsView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = Pages

    @extend_schema(
        summary="Your notifications",
        parameters=[OpenApiParameter("unread", bool)],
        responses={200: NotificationOut(many=True)},
    )
    def get(self, request: Request) -> Response:
        unread = request.query_params.get("unread") in ("1", "true", "True")
        rows = notifications.notifications_for(request.user, unread_only=unread)
        return paginated(self, request, rows, NotificationOut)


class NotificationsReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark notifications read",
        description="The given ids, or all of yours when `ids` is left out.",
        request=NotificationsReadIn,
        responses={200: inline_serializer("NotificationsReadOut", {"marked": serializers.IntegerField()}), 400: ERRORS},
    )
    def post(self, request: Request) -> Response:
        ids = valid(NotificationsReadIn, request.data)["ids"]
        return Response({"marked": notifications.notifications_mark_read(user=request.user, ids=ids)})


# --- Handing a lead to sales by hand (marketing, managers) -------------------------------------


class LeadHandOffView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)

    @extend_schema(
        summary="Hand a lead to sales by hand",
        description=(
            "With a note, to the `rep` or `team` named, or where the assignment rules place it. A lead below MQL "
            "moves to MQL (recorded as your decision). 409 when the lead is already with sales, is an opportunity, "
            "a customer or an evangelist, was disqualified, or the named rep is away or full."
        ),
        request=HandOffIn,
        responses={201: HandoffOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND, 409: ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)
        data = valid(HandOffIn, request.data)
        handoff = lead_hand_off_by_hand(lead=lead, by=request.user, **data)
        return Response(HandoffOut(handoff).data, status=201)


# --- Teams, their reps, the assignment rules (managers) ---------------------------------------


def team_body(team: Team) -> dict[str, Any]:
    return {"id": team.pk, "name": team.name, "manager": team.manager, "reps": selectors.team_reps(team)}


class TeamsView(APIView):
    permission_classes = roles(Role.MANAGER)

    @extend_schema(
        summary="Your teams",
        description="The teams you manage (every team for an administrator), with their reps, load and pool.",
        responses={200: TeamOut(many=True), 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        return Response(TeamOut(selectors.teams_overview(request.user), many=True).data)

    @extend_schema(
        summary="Create a team",
        description="A manager's new team is theirs; an administrator may name its manager. Names are unique.",
        request=TeamIn,
        responses={201: TeamDetailOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        team = teams.team_create(by=request.user, **valid(TeamIn, request.data))
        return Response(TeamDetailOut(team_body(team)).data, status=201)


class TeamDetailView(APIView):
    permission_classes = roles(Role.MANAGER)

    @extend_schema(summary="One team and its reps", responses={200: TeamDetailOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(TeamDetailOut(team_body(selectors.team_for_user(request.user, pk))).data)

    @extend_schema(
        summary="Rename a team",
        description="`name`, or (administrators) `manager`.",
        request=TeamUpdateIn,
        responses={200: TeamDetailOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        team = selectors.team_for_user(request.user, pk)
        teams.team_update(team=team, by=request.user, **valid(TeamUpdateIn, request.data))
        return Response(TeamDetailOut(team_body(team)).data)


class TeamRepsView(APIView):
    permission_classes = roles(Role.MANAGER)

    @extend_schema(
        summary="Add a rep to a team",
        description=(
            "An active sales rep with no team, or from another team you manage; `capacity` (0-1,000) is optional. "
            "Their open leads stay theirs."
        ),
        request=TeamRepIn,
        responses={201: TeamDetailOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        team = selectors.team_for_user(request.user, pk)
        teams.team_rep_add(team=team, by=request.user, **valid(TeamRepIn, request.data))
        return Response(TeamDetailOut(team_body(team)).data, status=201)


class TeamRepView(APIView):
    permission_classes = roles(Role.MANAGER)

    def _profile(self, pk: int, rep_id: int) -> RepProfile:
        team = selectors.team_for_user(self.request.user, pk)
        return get_object_or_404(RepProfile.objects.select_related("user", "team"), team=team, user_id=rep_id)

    @extend_schema(
        summary="Set a rep's capacity and time away",
        description="Fields left out keep their value; a null date clears that end of the time away.",
        request=RepProfileIn,
        responses={200: TeamDetailOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int, rep_id: int) -> Response:
        profile = self._profile(pk, rep_id)
        data = valid(RepProfileIn, request.data)
        away = {name: data.get(name, getattr(profile, name)) for name in ("away_from", "away_until")}
        teams.rep_profile_update(rep=profile.user, by=request.user, capacity=data.get("capacity"), **away)
        return Response(TeamDetailOut(team_body(profile.team)).data)

    @extend_schema(
        summary="Take a rep out of a team",
        description="The rep keeps the leads they hold; the team's new leads and pool stop being theirs.",
        request=None,
        responses={204: OpenApiResponse(description="Removed."), 403: REFUSED, 404: NOT_FOUND},
    )
    def delete(self, request: Request, pk: int, rep_id: int) -> Response:
        profile = self._profile(pk, rep_id)
        teams.team_rep_remove(team=profile.team, rep=profile.user, by=request.user)
        return Response(status=204)


def rule_rows() -> QuerySet[AssignmentRule]:
    return AssignmentRule.objects.select_related("team", "rep").prefetch_related("personas").order_by("position", "id")


RULES_WHO = "Any manager: the rules are one ordered list that routes every team's leads."


class AssignmentRulesView(APIView):
    permission_classes = roles(Role.MANAGER)

    @extend_schema(
        summary="Assignment rules, in order",
        description=f"The first active rule whose conditions all hold places a lead. {RULES_WHO}",
        responses={200: RuleOut(many=True), 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        return Response(RuleOut(rule_rows(), many=True).data)

    @extend_schema(
        summary="Create an assignment rule",
        description="Goes last in the order. Conditions left out hold for every lead; name a team or a rep.",
        request=RuleIn,
        responses={201: RuleOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        rule = teams.assignment_rule_save(by=request.user, **valid(RuleIn, request.data))
        return Response(RuleOut(rule_rows().get(pk=rule.pk)).data, status=201)


class AssignmentRuleView(APIView):
    permission_classes = roles(Role.MANAGER)

    @extend_schema(summary="One assignment rule", responses={200: RuleOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(RuleOut(get_object_or_404(rule_rows(), pk=pk)).data)

    @extend_schema(
        summary="Change an assignment rule",
        description="Only the fields given change; the rule keeps its place.",
        request=RuleIn(partial=True),
        responses={200: RuleOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        rule = get_object_or_404(AssignmentRule, pk=pk)
        data = RuleIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        teams.assignment_rule_save(by=request.user, rule=rule, **data.validated_data)
        return Response(RuleOut(rule_rows().get(pk=pk)).data)

    @extend_schema(
        summary="Delete an assignment rule",
        description="Leads it placed stay where they are.",
        request=None,
        responses={204: OpenApiResponse(description="Deleted."), 403: REFUSED, 404: NOT_FOUND},
    )
    def delete(self, request: Request, pk: int) -> Response:
        teams.assignment_rule_delete(rule=get_object_or_404(AssignmentRule, pk=pk), by=request.user)
        return Response(status=204)


class AssignmentRulesOrderView(APIView):
    permission_classes = roles(Role.MANAGER)

    @extend_schema(
        summary="Reorder the assignment rules",
        description="Every rule's id once, in the new order (first checked first).",
        request=RulesOrderIn,
        responses={200: RuleOut(many=True), 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        teams.assignment_rules_order(by=request.user, rule_ids=valid(RulesOrderIn, request.data)["rule_ids"])
        return Response(RuleOut(rule_rows(), many=True).data)
