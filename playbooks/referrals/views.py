"""Marketing's referral pages: the referrers with their credit, and marking an earned credit
paid (a confirmation page, then a POST).

Marketing runs the programme and managers oversee its payouts; Sales is refused (403): the
page names customers and what they are owed, which is no rep's work.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from playbooks.referrals import selectors, services
from playbooks.referrals.forms import ReferralListForm
from smarketing.roles import Role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)
REFERRERS_PER_PAGE = 25


@role_required(*EDITORS)
def referral_list(request: HttpRequest) -> HttpResponse:
    form = ReferralListForm(request.GET)
    if not form.is_valid():
        return render(request, "playbooks/referrals/list.html", {"form": form, "page": None}, status=400)
    search, status = form.cleaned_data["q"], form.cleaned_data["status"]
    page = Paginator(selectors.referrers_list(search=search, status=status), REFERRERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    referrals = selectors.referrals_by_referrer([referrer.pk for referrer in page.object_list], status=status)
    context = {
        "form": form,
        "page": page,
        "rows": [(referrer, referrals.get(referrer.pk, [])) for referrer in page.object_list],
        "totals": selectors.credit_totals(),
        "filtered": bool(search or status),
        "here": request.get_full_path(),
    }
    return render(request, "playbooks/referrals/list.html", context)


@role_required(*EDITORS)
def referral_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (the list's button without scripts); POST marks the earned credit
    paid and returns to the list as it was filtered (with htmx, the list's button confirms
    in the browser and posts here directly)."""
    referral = selectors.referral_for_payment(pk)
    back = _back(request)
    if request.method != "POST":
        return _pay_page(request, referral, back)
    try:
        services.referral_mark_paid(referral=referral, by=request.user)
    except ValidationError as error:
        if request.htmx:  # asked from the list (htmx confirmed it): the list shows why
            messages.error(request, " ".join(error.messages))
            return HttpResponseClientRedirect(back)
        return _pay_page(request, referral, back, error=" ".join(error.messages), status=400)
    messages.success(request, f"Credit of {referral.lead.email}'s referral marked paid.")
    return HttpResponseClientRedirect(back) if request.htmx else redirect(back)


def _pay_page(request: HttpRequest, referral: object, back: str, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {"referral": referral, "back": back, "error": error}
    return render(request, "playbooks/referrals/pay.html", context, status=status)


def _back(request: HttpRequest) -> str:
    """Where to return after paying: the list as it was filtered, never another site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("playbooks:referrals")
