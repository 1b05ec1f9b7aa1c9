"""/api/v1/email-templates/, a lead's emails and unsubscribing a lead through the API."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.selectors import lead_for_user
from leads.services import lead_unsubscribe
from playbooks.email import services
from playbooks.email.serializers import EmailTemplateIn, EmailTemplateOut, LeadEmailOut
from playbooks.models import EmailTemplate, OutboundEmail
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, paginated, refusals_as_400, roles, valid
from smarketing.roles import Role

EMAIL_ROLES = (Role.MARKETING, Role.MANAGER)  # as on the pages (playbooks.email.views)


class EmailTemplatesView(APIView):
    permission_classes = roles(*EMAIL_ROLES)
    pagination_class = Pages

    @extend_schema(summary="List email templates", responses={200: EmailTemplateOut(many=True), 403: REFUSED})
    def get(self, request: Request) -> Response:
        return paginated(self, request, EmailTemplate.objects.all(), EmailTemplateOut)

    @extend_schema(
        summary="Create an email template",
        description="The body is HTML with {{ variables }}; an unknown variable is refused, naming the known ones.",
        request=EmailTemplateIn,
        responses={201: EmailTemplateOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = valid(EmailTemplateIn, request.data)
        with refusals_as_400():
            template = services.template_save(data=data, by=request.user)
        return Response(EmailTemplateOut(template).data, status=201)


class EmailTemplateDetailView(APIView):
    permission_classes = roles(*EMAIL_ROLES)

    @extend_schema(summary="One email template", responses={200: EmailTemplateOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(EmailTemplateOut(get_object_or_404(EmailTemplate, pk=pk)).data)

    @extend_schema(
        summary="Change an email template",
        description="Only the fields sent change.",
        request=EmailTemplateIn,
        responses={200: EmailTemplateOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        template = get_object_or_404(EmailTemplate, pk=pk)
        data = valid(EmailTemplateIn, request.data)
        with refusals_as_400():
            template = services.template_save(data=data, by=request.user, template=template)
        return Response(EmailTemplateOut(template).data)


class LeadEmailsView(APIView):
    """Every role that may open the lead may read what was sent to it."""

    pagination_class = Pages

    @extend_schema(
        summary="A lead's emails",
        description="Each send: template, status (sent, or suppressed and why), sent, opened and clicked times.",
        responses={200: LeadEmailOut(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)
        emails = OutboundEmail.objects.filter(lead=lead).select_related("template").defer("html", "text")
        return paginated(self, request, emails, LeadEmailOut)


class LeadUnsubscribeView(APIView):
    permission_classes = roles(*EMAIL_ROLES)

    @extend_schema(
        summary="Unsubscribe a lead from marketing email",
        description="For integrations (a preference centre, a CRM sync). Unsubscribing again keeps the first moment.",
        request=None,
        responses={
            200: inline_serializer(
                "UnsubscribedOut", {"id": serializers.IntegerField(), "unsubscribed_at": serializers.DateTimeField()}
            ),
            403: REFUSED,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)
        lead_unsubscribe(lead=lead)
        lead.refresh_from_db(fields=["unsubscribed_at"])
        return Response({"id": lead.pk, "unsubscribed_at": lead.unsubscribed_at})
