"""Pages reached without logging in: a referral link's page (`/r/<code>/`) and the NPS
question (`/r/nps/<token>/`).

The referral page is a small hosted form. Like the public capture endpoint it is rate-limited
per address, drops posts that fill the honeypot, and thanks everyone the same way: whether
the address was known (and so not credited) is never shown, so nobody can probe who is a lead.

The NPS page shows the question on GET and records only a POST: mail scanners that fetch
every link in a message must not answer for the recipient. A link may pre-select a score
(`?score=9`, from buttons in the email), which the person then confirms.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from leads.capture.api import client_ip
from leads.capture.services import HONEYPOT_FIELD, capture_rate_limited
from leads.models import Lead
from playbooks.referrals import selectors, services
from playbooks.referrals.forms import NpsForm, ReferredForm

RATE_KEY = "referral-page"  # one limit per address over every code: spraying codes is one client
SCORES = range(11)


def _unknown_code(request: HttpRequest) -> HttpResponse:
    return render(request, "playbooks/referrals/unknown_code.html", status=404)


@require_http_methods(["GET", "POST"])
def landing(request: HttpRequest, code: str) -> HttpResponse:
    referrer = selectors.referrer_by_code(code)
    if referrer is None:
        return _unknown_code(request)
    if request.method == "GET":
        return _landing_page(request, referrer.code, ReferredForm())
    if capture_rate_limited(form_key=RATE_KEY, ident=client_ip(request)):
        notice = "Too many submissions from your address. Wait a minute, then send the form again."
        response = _landing_page(request, referrer.code, ReferredForm(), notice=notice, status=429)
        response["Retry-After"] = "60"
        return response
    if request.POST.get(HONEYPOT_FIELD):  # a bot: thanked like anyone, nothing kept
        return redirect("referrals:thanks", code=referrer.code)
    form = ReferredForm(request.POST)
    if not form.is_valid():
        return _landing_page(request, referrer.code, form, status=400)
    services.referral_capture(referrer=referrer, data=form.cleaned_data)
    return redirect("referrals:thanks", code=referrer.code)


def _landing_page(
    request: HttpRequest, code: str, form: ReferredForm, *, notice: str = "", status: int = 200
) -> HttpResponse:
    context = {"form": form, "code": code, "notice": notice, "honeypot": HONEYPOT_FIELD}
    return render(request, "playbooks/referrals/landing.html", context, status=status)


@require_GET
def thanks(request: HttpRequest, code: str) -> HttpResponse:
    if selectors.referrer_by_code(code) is None:
        return _unknown_code(request)
    return render(request, "playbooks/referrals/thanks.html")


@never_cache
@require_http_methods(["GET", "POST"])
def nps(request: HttpRequest, token: str) -> HttpResponse:
    try:
        lead = services.nps_lead(token)
    except services.BadToken as error:
        return render(request, "playbooks/referrals/nps_refused.html", {"message": str(error)}, status=400)
    if lead is None:
        return render(request, "playbooks/referrals/nps.html", {"gone": True}, status=404)
    answer = selectors.nps_answer(lead=lead, token=token)
    form = NpsForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and answer is None:
        if form.is_valid():
            answer = services.nps_record(lead=lead, token=token, score=form.cleaned_data["score"])
        else:
            status = 400
    context = {
        "answer": answer,
        "form": form,
        "scores": SCORES,
        "chosen": _chosen(request) if answer is None else None,
        "referral_url": services.referral_url(lead) if _invited(answer, lead) else "",
    }
    return render(request, "playbooks/referrals/nps.html", context, status=status)


def _chosen(request: HttpRequest) -> int | None:
    """The score a link pre-selects (`?score=N`); anything else pre-selects nothing."""
    value = request.GET.get("score", "")
    return int(value) if value.isdigit() and int(value) in SCORES else None


def _invited(answer: selectors.NpsAnswer | None, lead: Lead) -> bool:
    """Promoters who may refer (customers and evangelists) are shown their link."""
    return answer is not None and answer.group == "promoter" and services.may_refer(lead)
