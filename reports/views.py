from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reports.selectors import landing_figures
from smarketing.roles import Role, primary_role

LANDING_TEMPLATES = {
    Role.MARKETING: "reports/home_marketing.html",
    Role.SALES: "reports/home_sales.html",
    Role.MANAGER: "reports/home_manager.html",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own page of real figures; a user with no role is told why."""
    role = primary_role(request.user)
    if role is None:
        return render(request, "reports/home_no_role.html", status=403)
    return render(request, LANDING_TEMPLATES[role], landing_figures(request.user))
