from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from leads.capture import views as capture_views
from playbooks.email.webhooks import webhook_urls
from playbooks.urls import public_urlpatterns as email_links
from playbooks.urls import referral_urlpatterns as referral_links
from reports import views as report_views
from smarketing.accounts import views as account_views

# The API docs: Swagger UI, its start-up script served apart (the split view), so the page runs
# under the site's policy but for the one <style> block in drf-spectacular's template, allowed by
# its hash on this view alone (tests/smarketing/test_security_headers.py checks it still matches).
SWAGGER_UI_STYLE = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"
api_docs = csp_update({"style-src": [SWAGGER_UI_STYLE]})(SpectacularSwaggerSplitView.as_view(url_name="schema"))

urlpatterns = [
    path("", report_views.home, name="home"),
    path("login/", account_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", include("smarketing.accounts.urls")),
    path("audit/", include("smarketing.audit.urls")),
    path("leads/", include("leads.urls")),
    path("reports/", include("reports.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("e/", include((email_links, "playbooks"), namespace="email")),
    path("r/", include((referral_links, "playbooks"), namespace="referrals")),
    path("email/webhooks/", include(webhook_urls())),
    path("f/<slug:key>/", capture_views.hosted_form, name="capture-page"),
    path("f/<slug:key>/thanks/", capture_views.thanks, name="capture-thanks"),
    path("api/v1/", include("smarketing.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("admin/", admin.site.urls),
]

# Refusals and crashes no view answered: pages in the product's look, JSON under /api/.
handler400 = "smarketing.errors.bad_request"
handler403 = "smarketing.errors.permission_denied"
handler404 = "smarketing.errors.page_not_found"
handler500 = "smarketing.errors.server_error"
