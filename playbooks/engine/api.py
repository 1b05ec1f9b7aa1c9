"""/api/v1/playbooks/ (the builder's JSON), activate, pause and dry run; a lead's enrolments."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.selectors import lead_for_user
from playbooks.engine import selectors, services
from playbooks.engine.dry_run import playbook_dry_run
from playbooks.engine.serializers import DryRunOut, EnrollmentOut, PlaybookIn, PlaybookOut
from playbooks.models import Playbook
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, paginated, refusals_as_400, roles, valid
from smarketing.roles import Role

PLAYBOOK_ROLES = (Role.MARKETING, Role.MANAGER)


class PlaybooksView(APIView):
    permission_classes = roles(*PLAYBOOK_ROLES)
    pagination_class = Pages

    @extend_schema(summary="List playbooks", responses={200: PlaybookOut(many=True), 403: REFUSED})
    def get(self, request: Request) -> Response:
        return paginated(self, request, Playbook.objects.all(), PlaybookOut)

    @extend_schema(
        summary="Create a playbook",
        description="Trigger, steps and exits as JSON, the shape the builder saves. A playbook starts as a draft.",
        request=PlaybookIn,
        responses={201: PlaybookOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = valid(PlaybookIn, request.data)
        with refusals_as_400():
            playbook = services.playbook_save(data=data, by=request.user)
        return Response(PlaybookOut(playbook).data, status=201)


class PlaybookDetailView(APIView):
    permission_classes = roles(*PLAYBOOK_ROLES)

    @extend_schema(summary="One playbook", responses={200: PlaybookOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PlaybookOut(get_object_or_404(Playbook, pk=pk)).data)

    @extend_schema(
        summary="Change a playbook",
        description="Only the fields sent change.",
        request=PlaybookIn,
        responses={200: PlaybookOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        playbook = get_object_or_404(Playbook, pk=pk)
        data = valid(PlaybookIn, request.data)
        with refusals_as_400():
            playbook = services.playbook_save(data=data, by=request.user, playbook=playbook)
        return Response(PlaybookOut(playbook).data)

    @extend_schema(summary="Delete a paused or draft playbook", responses={204: None, 400: ERRORS, 404: NOT_FOUND})
    def delete(self, request: Request, pk: int) -> Response:
        with refusals_as_400():
            services.playbook_delete(playbook=get_object_or_404(Playbook, pk=pk), by=request.user)
        return Response(status=204)


class PlaybookActivateView(APIView):
    permission_classes = roles(*PLAYBOOK_ROLES)

    @extend_schema(
        summary="Activate a playbook", request=None, responses={200: PlaybookOut, 400: ERRORS, 404: NOT_FOUND}
    )
    def post(self, request: Request, pk: int) -> Response:
        with refusals_as_400():
            playbook = services.playbook_activate(playbook=get_object_or_404(Playbook, pk=pk), by=request.user)
        return Response(PlaybookOut(playbook).data)


class PlaybookPauseView(APIView):
    permission_classes = roles(*PLAYBOOK_ROLES)

    @extend_schema(summary="Pause a playbook", request=None, responses={200: PlaybookOut, 404: NOT_FOUND})
    def post(self, request: Request, pk: int) -> Response:
        playbook = services.playbook_pause(playbook=get_object_or_404(Playbook, pk=pk), by=request.user)
        return Response(PlaybookOut(playbook).data)


class PlaybookDryRunView(APIView):
    permission_classes = roles(*PLAYBOOK_ROLES)

    @extend_schema(
        summary="Dry-run a playbook",
        description="Who would enter now and what each would receive over the next 30 days; nothing is sent or stored.",
        responses={200: DryRunOut, 403: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(DryRunOut(playbook_dry_run(playbook=get_object_or_404(Playbook, pk=pk))).data)


class LeadEnrollmentsView(APIView):
    @extend_schema(summary="A lead's playbook enrolments", responses={200: EnrollmentOut(many=True), 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)
        return Response(EnrollmentOut(selectors.lead_enrolments(lead), many=True).data)
