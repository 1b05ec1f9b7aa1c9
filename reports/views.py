"""Report pages: each role's landing page, and the agreement page (a month's terms between
marketing and sales, how both sides are doing against them, the months before, and, for
managers, setting this month's or a later month's terms; past months keep theirs).
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from leads.models import Agreement
from leads.sales import services as sales
from leads.sales.forms import add_sales_error
from leads.sales.services import SalesError
from reports import selectors
from reports.dashboard.views import dashboard_response
from reports.forms import AgreementForm, MonthField
from reports.selectors import landing_figures
from smarketing.lib.periods import month_first, next_month
from smarketing.roles import Role, has_role, primary_role, role_required

ANY_ROLE = (Role.MARKETING, Role.SALES, Role.MANAGER)


MONTHS_LISTED = 24


TERMS = (
    "mql_target",
    "close_quota",
    "close_per",
    "speed_to_lead_hours",
    "reassign_after_hours",
    "first_touch_target_pct",
)


class MonthQueryForm(forms.Form):
    month = MonthField(label="Month", required=False)


@role_required(*ANY_ROLE)
def agreement_page(request: HttpRequest) -> HttpResponse:
    query = MonthQueryForm(request.GET)
    valid = query.is_valid()
    month = (query.cleaned_data.get("month") if valid else None) or month_first()
    this_month = month_first()
    context = {
        "query": query,
        "attainment": selectors.agreement_attainment(month=month),
        "months": list(Agreement.objects.select_related("created_by").order_by("-month")[:MONTHS_LISTED]),
        "this_month": this_month,
        "next_month": next_month(this_month),
        "is_current": month == this_month,
        "can_edit": has_role(request.user, Role.MANAGER),
    }
    return render(request, "reports/agreement.html", context, status=200 if valid else 400)


@role_required(Role.MANAGER)
def agreement_edit(request: HttpRequest) -> HttpResponse:
    """Set a month's terms (next month's by default); the form starts from the terms that hold then."""
    if request.method == "POST":
        form = AgreementForm(request.POST)
        if form.is_valid():
            return _save(request, form)
        return render(request, "reports/agreement_edit.html", {"form": form}, status=400)
    query = MonthQueryForm(request.GET)
    month = (query.cleaned_data.get("month") if query.is_valid() else None) or next_month(month_first())
    form = AgreementForm(initial=_terms(month))
    return render(request, "reports/agreement_edit.html", {"form": form, "query": query})


def _terms(month: Any) -> dict[str, Any]:
    """The terms holding in that month (its own, carried from before, or the defaults)."""
    agreement = Agreement.for_month(month)
    return {"month": month, "handoff_stage": agreement.handoff_stage} | {key: getattr(agreement, key) for key in TERMS}


def _save(request: HttpRequest, form: AgreementForm) -> HttpResponse:
    values = {key: value for key, value in form.cleaned_data.items() if value is not None}  # blank: keep it
    month = values.pop("month")
    try:
        agreement, created = sales.agreement_set(month=month, by=request.user, values=values)
    except SalesError as error:
        add_sales_error(form, error)
        return render(request, "reports/agreement_edit.html", {"form": form}, status=error.status)
    verb = "Set" if created else "Updated"
    messages.success(
        request,
        f"{verb} the agreement for {agreement.month:%B %Y}: {agreement.mql_target} MQLs, "
        f"close {agreement.close_quota} of every {agreement.close_per}, "
        f"first touch within {agreement.speed_to_lead_hours} h. "
        "Both sides see it on their home page.",
    )
    return redirect(f"{reverse('reports:agreement')}?month={agreement.month:%Y-%m}")


LANDING_TEMPLATES = {
    Role.MARKETING: "reports/home_marketing.html",
    Role.SALES: "reports/home_sales.html",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own page of real figures; a user with no role is told why."""
    role = primary_role(request.user)
    if role is None:
        return render(request, "reports/home_no_role.html", status=403)
    if role == Role.MANAGER:  # the alignment dashboard, as at /reports/dashboard/
        return dashboard_response(request)
    return render(request, LANDING_TEMPLATES[role], landing_figures(request.user))
