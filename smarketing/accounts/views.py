"""The lockout page axes answers a refused login with, and the managers' page of failed logins
and lockouts, each with its unlock button. Logging in and the password pages are Django's own
views, answering a form sent invalid with 400, with this package's forms and templates (urls.py)."""

import math

from axes.helpers import get_client_username
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from leads.capture.api import client_ip
from smarketing.accounts import selectors, services
from smarketing.accounts.forms import UnlockForm
from smarketing.roles import Role, role_required


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a 429 in the product's look that says until when, for the login
    page and the admin's alike."""
    username = get_client_username(request, credentials) or ""
    ip_address = getattr(request, "axes_ip_address", None) or client_ip(request)
    now = timezone.now()
    until = selectors.lockout_until(username=username, ip_address=ip_address) or now + selectors.cool_off()
    seconds = max(math.ceil((until - now).total_seconds()), 1)
    request.refusal_reason = "login locked after repeated failures"
    context = {"username": username, "until": until, "minutes": math.ceil(seconds / 60)}
    response = render(request, "accounts/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Retry-After"] = str(seconds)
    return response


@role_required(Role.MANAGER)
def logins(request: HttpRequest) -> HttpResponse:
    return _logins_page(request, UnlockForm())


@role_required(Role.MANAGER)
@require_POST
def unlock(request: HttpRequest) -> HttpResponse:
    form = UnlockForm(request.POST)
    if not form.is_valid():
        return _logins_page(request, form, status=400)
    username, ip_address = form.cleaned_data["username"], form.cleaned_data["ip_address"]
    services.lockout_release(username=username, ip_address=ip_address, by=request.user)
    who = " from ".join(part for part in (username, ip_address) if part)
    messages.success(request, f"Unlocked {who}: the next login is judged afresh.")
    return redirect("accounts:logins")


def _logins_page(request: HttpRequest, form: UnlockForm, *, status: int = 200) -> HttpResponse:
    context = {
        "lockouts": selectors.lockouts_in_force(),
        "failures": selectors.failed_logins(),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": math.ceil(selectors.cool_off().total_seconds() / 60),
        "form": form,
    }
    return render(request, "accounts/logins.html", context, status=status)


class InvalidFormIs400(FormView):
    """Django's form views answer a form sent empty or invalid with 200, as if it had been
    opened; like every page of the product, these answer 400 with each field's message."""

    def form_invalid(self, form: Form) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LoginView(InvalidFormIs400, auth_views.LoginView):
    """A wrong password is a 400 too; axes counts it (its backend) and, at the limit, its
    middleware answers the lockout page instead."""


class PasswordChangeView(InvalidFormIs400, auth_views.PasswordChangeView):
    """One's own password, the old one first."""


class PasswordResetView(InvalidFormIs400, auth_views.PasswordResetView):
    """The address to send a reset link to."""


class PasswordResetConfirmView(InvalidFormIs400, auth_views.PasswordResetConfirmView):
    """The new password, from a reset link; a link that no longer works stays the page that says so."""
