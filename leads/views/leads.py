"""Lead pages: thin views over selectors and services."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from leads.models import Campaign, Job, Stage
from leads.selectors import lead_for_user, leads_visible_to
from smarketing.roles import Role, has_role, role_required

LEADS_PER_PAGE = 50


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    leads = leads_visible_to(request.user).select_related("owner", "first_campaign")
    stage = request.GET.get("stage", "")
    if stage in Stage.values:
        leads = leads.filter(stage=stage)
    query = request.GET.get("q", "").strip()
    if query:
        leads = leads.filter(
            Q(email__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(company__icontains=query)
        )
    page = Paginator(leads.order_by("-created_at", "-id"), LEADS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "stages": Stage.choices, "stage": stage, "q": query}
    return render(request, "leads/lead_list.html", context)


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk)
    context = {
        "lead": lead,
        "events": lead.events.select_related("campaign").order_by("-occurred_at")[:100],
        "stage_changes": lead.stage_changes.select_related("changed_by").order_by("-changed_at", "-id"),
    }
    return render(request, "leads/lead_detail.html", context)


@role_required(Role.MARKETING, Role.MANAGER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.annotate(
        lead_count=Count("first_touch_leads", distinct=True),
    ).order_by("name")
    spend = dict(Campaign.objects.values_list("pk").annotate(total=Sum("costs__amount")))
    rows = [{"campaign": c, "spend": spend.get(c.pk) or 0} for c in campaigns]
    return render(request, "leads/campaign_list.html", {"rows": rows})


@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's progress bar; htmx polls it until the job finishes."""
    jobs = Job.objects.all() if has_role(request.user, Role.MANAGER) else Job.objects.filter(created_by=request.user)
    job = get_object_or_404(jobs, pk=pk)
    return render(request, "snippets/job_progress.html", {"job": job})
