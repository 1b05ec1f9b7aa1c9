from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from leads.capture import views as capture_views
from playbooks.email.webhooks import webhook_urls
from playbooks.urls import public_urlpatterns as email_links
from playbooks.urls import referral_urlpatterns as referral_links
from reports import views as report_views

urlpatterns = [
    path("", report_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# Refusals and crashes no view answered: pages in the product's look, JSON under /api/.
handler400 = "smarketing.errors.bad_request"
handler403 = "smarketing.errors.permission_denied"
handler404 = "smarketing.errors.page_not_found"
handler500 = "smarketing.errors.server_error"
