"""The API schema's generator: each operation also lists the refusals every view shares.

A view's `@extend_schema` documents what is its own (201, 400 per field, 409 …). What DRF answers
for every view alike is added here, so no operation can leave one out: 401 without credentials
(token auth asks for them with `WWW-Authenticate`), 403 when a role check guards it, 404 when the
path names an object or the list is paged (a page past the last one), 400 and 415 when a body
cannot be read (malformed, or of a content type the operation does not read). `REST_FRAMEWORK`'s
`DEFAULT_SCHEMA_CLASS` names it.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated


class DetailOut(serializers.Serializer):
    """What DRF answers for a refusal that no single field caused."""

    detail = serializers.CharField()


NOT_AUTHENTICATED = OpenApiResponse(DetailOut, description="No valid token or session: log in or send a token.")
ROLE_REFUSED = OpenApiResponse(DetailOut, description="Your role may not do this.")
NOT_FOUND = OpenApiResponse(DetailOut, description="No such object among those you may see, or no such page.")
UNREADABLE = OpenApiResponse(DetailOut, description="The body could not be parsed.")
UNSUPPORTED = OpenApiResponse(DetailOut, description="The body's content type is not one this operation reads.")


class ProductAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in self._shared_refusals().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _shared_refusals(self) -> dict[str, OpenApiResponse]:
        permissions = self.view.get_permissions()
        refusals = {}
        if self.view.get_authenticators() and not all(isinstance(p, AllowAny) for p in permissions):
            refusals["401"] = NOT_AUTHENTICATED
        if any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in permissions):
            refusals["403"] = ROLE_REFUSED
        if "{" in self.path or (self.method == "GET" and getattr(self.view, "pagination_class", None)):
            refusals["404"] = NOT_FOUND
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            refusals["400"] = UNREADABLE
            refusals["415"] = UNSUPPORTED
        return refusals
