"""The reports API (under /api/v1/): the agreement, read by every role and set by managers."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.sales import services as sales
from reports import selectors
from reports.serializers import AgreementIn, AgreementOut, AgreementQueryIn
from smarketing.lib.api import ERRORS, REFUSED, roles, valid
from smarketing.roles import Role

ANY_ROLE = (Role.MARKETING, Role.SALES, Role.MANAGER)


def agreement_body(month: Any = None) -> dict[str, Any]:
    attainment = selectors.agreement_attainment(month=month)
    return {"agreement": attainment["agreement"], "attainment": attainment}


class AgreementView(APIView):
    def get_permissions(self) -> list[BasePermission]:
        allowed = ANY_ROLE if self.request.method == "GET" else (Role.MANAGER,)
        return [permission() for permission in roles(*allowed)]

    @extend_schema(
        summary="The agreement and its attainment",
        description="This month's (or `month`'s) terms and how both sides are doing against them.",
        parameters=[AgreementQueryIn],
        responses={200: AgreementOut, 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        month = valid(AgreementQueryIn, request.query_params).get("month")
        return Response(AgreementOut(agreement_body(month)).data)

    @extend_schema(
        summary="Set a month's agreement (managers)",
        description=(
            "This month's or a later month's terms; fields left out keep the terms carried from before. "
            "Past months keep theirs (400). 201 when the month had none, 200 when updated."
        ),
        request=AgreementIn,
        responses={201: AgreementOut, 200: AgreementOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = valid(AgreementIn, request.data)
        month = data.pop("month")
        _, created = sales.agreement_set(month=month, by=request.user, values=data)
        return Response(AgreementOut(agreement_body(month)).data, status=201 if created else 200)

    @extend_schema(
        summary="Set a month's agreement (managers)",
        request=AgreementIn,
        responses={201: AgreementOut, 200: AgreementOut, 400: ERRORS, 403: REFUSED},
    )
    def put(self, request: Request) -> Response:
        return self.post(request)
