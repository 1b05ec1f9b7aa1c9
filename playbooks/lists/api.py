"""/api/v1/lists/: lists and segments, and the leads on them.

Marketing and managers only, as on the pages (playbooks.lists.views). A static list's members
are added and removed by lead id or email address; a segment's are whoever its condition
matches now, so its members can be read but not changed.
"""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from playbooks.lists import selectors, services
from playbooks.lists.serializers import (
    LeadListIn,
    LeadListOut,
    MemberOut,
    MembersAddedOut,
    MembersIn,
    MembersRemovedOut,
)
from playbooks.models import LeadList
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, refusals_as_400, roles, valid
from smarketing.roles import Role

LIST_ROLES = (Role.MARKETING, Role.MANAGER)  # as on the pages
SEARCH = OpenApiParameter("search", str, description="Part of the list's name.")
MEMBERS_HOW = (
    'Name the leads by id ({"lead_ids": [1, 2]}) or by email address ({"emails": ["ana@example.com"]}), '
    "up to 10,000 at a time. Addresses are matched as stored (trimmed, case-folded); nobody is created. "
    "A segment refuses (400): its members are whoever its condition matches."
)


def _out(lead_list: LeadList) -> dict:
    counts = {lead_list.pk: selectors.list_count(lead_list)}
    return LeadListOut(lead_list, context={"counts": counts}).data


class ListsView(APIView):
    permission_classes = roles(*LIST_ROLES)
    pagination_class = Pages

    @extend_schema(
        summary="List lists and segments",
        description="By name. Static lists are counted together; each segment is counted over its condition.",
        parameters=[SEARCH],
        responses={200: LeadListOut(many=True), 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.lists_search(search=request.query_params.get("search", "")[:120])
        paginator = Pages()
        page = paginator.paginate_queryset(rows, request, view=self)
        context = {"counts": selectors.member_counts(page)}
        return paginator.get_paginated_response(LeadListOut(page, many=True, context=context).data)

    @extend_schema(
        summary="Create a list or a segment",
        description="kind is static (the default) or segment; a segment needs a condition, a rule tree "
        '(the qualification tree\'s shape, e.g. {"op": "attr", "field": "country", "cmp": "in", "value": ["ES"]}), '
        "a static list has none. Each refusal names its field.",
        request=LeadListIn,
        responses={201: LeadListOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = valid(LeadListIn, request.data)
        with refusals_as_400():
            lead_list = services.list_save(data=data, by=request.user)
        return Response(_out(lead_list), status=201)


class ListDetailView(APIView):
    permission_classes = roles(*LIST_ROLES)

    @extend_schema(summary="One list", responses={200: LeadListOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_out(get_object_or_404(LeadList, pk=pk)))

    @extend_schema(
        summary="Change a list",
        description="Only the fields sent change. A list with members cannot become a segment.",
        request=LeadListIn,
        responses={200: LeadListOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        lead_list = get_object_or_404(LeadList, pk=pk)
        data = valid(LeadListIn, request.data)
        with refusals_as_400():
            lead_list = services.list_save(data=data, by=request.user, lead_list=lead_list)
        return Response(_out(lead_list))

    @extend_schema(
        summary="Delete a list",
        description="Its memberships go with it; the leads stay.",
        responses={204: None, 403: REFUSED, 404: NOT_FOUND},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.list_delete(lead_list=get_object_or_404(LeadList, pk=pk), by=request.user)
        return Response(status=204)


class ListMembersView(APIView):
    permission_classes = roles(*LIST_ROLES)
    pagination_class = Pages

    @extend_schema(
        summary="The leads on a list",
        description="A static list's newest additions first, with when and how each was added; a segment's "
        "leads matching now, by id.",
        responses={200: MemberOut(many=True), 403: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        lead_list = get_object_or_404(LeadList, pk=pk)
        rows: QuerySet = selectors.members_api_rows(lead_list)
        paginator = Pages()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(MemberOut(page, many=True).data)

    @extend_schema(
        summary="Put leads on a static list",
        description=MEMBERS_HOW + " Leads already on it stay as they were (counted in `already`).",
        request=MembersIn,
        responses={200: MembersAddedOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead_list = get_object_or_404(LeadList, pk=pk)
        data = valid(MembersIn, request.data)
        with refusals_as_400():
            outcome = services.list_add_members(
                lead_list=lead_list,
                lead_ids=data.get("lead_ids", []),
                emails=data.get("emails", []),
                source=data["source"],
                by=request.user,
            )
        return Response(outcome)

    @extend_schema(
        summary="Take leads off a static list",
        description=MEMBERS_HOW + " The leads themselves stay.",
        request=MembersIn,
        responses={200: MembersRemovedOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def delete(self, request: Request, pk: int) -> Response:
        lead_list = get_object_or_404(LeadList, pk=pk)
        data = valid(MembersIn, request.data)
        with refusals_as_400():
            outcome = services.list_remove_members(
                lead_list=lead_list, lead_ids=data.get("lead_ids", []), emails=data.get("emails", [])
            )
        return Response(outcome)
