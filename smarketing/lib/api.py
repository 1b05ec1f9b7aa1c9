"""What every API view shares: refusals as per-field errors, role permissions, input parsing, pages.

A service refuses an action it may not take now by raising `Refused` (the sales side's
`SalesError` is one); the API answers `{field: [message]}` with the refusal's status, the
same shape DRF gives a validation error, so clients read every 4xx the same way.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from smarketing.roles import HasRole, Role


class Refused(Exception):
    """An action that is not allowed now; `field` names the input at fault, `status` the HTTP code."""

    def __init__(self, message: str, *, field: str = "non_field_errors", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: a refusal becomes {field: [message]} with its status."""
    if isinstance(exc, Refused):
        return Response({exc.field: [exc.message]}, status=exc.status)
    return drf_exception_handler(exc, context)


class ErrorsOut(serializers.Serializer):
    """Errors come back as {"field": ["message", …]}; `non_field_errors` when no single field is at fault."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


ERRORS = OpenApiResponse(ErrorsOut, description="A message per field.")
REFUSED = OpenApiResponse(description="Your role may not do this.")
NOT_FOUND = OpenApiResponse(description="No such object among those you may see.")


def roles(*allowed: Role) -> list[type[BasePermission]]:
    return [IsAuthenticated, HasRole.of(*allowed)]


def valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated(view: APIView, request: Request, rows: QuerySet, serializer_class: type) -> Response:
    paginator = Pages()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@contextmanager
def refusals_as_400() -> Iterator[None]:
    """A service's refusal by field (Django's ValidationError) answers 400 with its messages."""
    try:
        yield
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from None
