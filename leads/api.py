"""The leads REST API (under /api/v1/)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.roles import primary_role, user_roles


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    """Who the token or session belongs to, and their roles."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        role = primary_role(request.user)
        data = {
            "username": request.user.get_username(),
            "role": role.value if role else None,
            "roles": sorted(r.value for r in user_roles(request.user)),
        }
        return Response(MeSerializer(data).data)
