"""Who may do what: the one place every view, API view and selector asks.

Three groups hold the product's roles: Marketing, Sales and Manager. Superusers act as
managers. A user's role decides their navigation, their landing page and what they may
see and change; object-level rules (a rep sees only their own leads) live beside it.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.apps.registry import Apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission


class Role(StrEnum):
    MARKETING = "Marketing"
    SALES = "Sales"
    MANAGER = "Manager"


def roles_seed(apps: Apps) -> None:
    """Add the group of each role that is missing. Migration leads 0002 runs it on its historical
    models, the test suite on the live ones to put back what a flush of the database removed."""
    Group = apps.get_model("auth", "Group")  # noqa: N806 (a model class)
    groups = set(Group.objects.filter(name__in=[role.value for role in Role]).values_list("name", flat=True))
    Group.objects.bulk_create(Group(name=role.value) for role in Role if role.value not in groups)


def user_roles(user: Any) -> set[Role]:
    """The roles a user holds (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_smarketing_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        if user.is_superuser:
            cached.add(Role.MANAGER)
        user._smarketing_roles = cached
    return cached


def has_role(user: Any, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


def primary_role(user: Any) -> Role | None:
    """The role whose landing page and navigation the user gets (manager wins)."""
    roles = user_roles(user)
    for role in (Role.MANAGER, Role.MARKETING, Role.SALES):
        if role in roles:
            return role
    return None


def role_required(*roles: Role) -> Callable:
    """View decorator: log in first, then refuse (403) users without one of the roles."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasRole(BasePermission):
    """DRF permission: `permission_classes = [HasRole.of(Role.MARKETING, Role.MANAGER)]`."""

    roles: tuple[Role, ...] = ()
    message = "Your role does not give access to this endpoint."

    @classmethod
    def of(cls, *roles: Role) -> type["HasRole"]:
        return type(f"HasRole_{'_'.join(r.value for r in roles)}", (cls,), {"roles": roles})

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and has_role(request.user, *self.roles))
