"""Password reset (Django's views, answering a form sent invalid with 400; the product's forms
and pages) and the managers' logins page."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from smarketing.accounts import views
from smarketing.accounts.forms import PasswordResetByOutbox, SetPasswordAndUnlock

app_name = "accounts"

urlpatterns = [
    path(
        "password/reset/",
        views.PasswordResetView.as_view(
            form_class=PasswordResetByOutbox,
            template_name="accounts/password_reset_form.html",
            subject_template_name="accounts/email/password_reset_subject.txt",
            email_template_name="accounts/email/password_reset.txt",
            html_email_template_name="accounts/email/password_reset.html",
            success_url=reverse_lazy("accounts:password-reset-done"),
        ),
        name="password-reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password-reset-done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(
            form_class=SetPasswordAndUnlock,
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password-reset-complete"),
        ),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password-reset-complete",
    ),
    path("logins/", views.logins, name="logins"),
    path("logins/unlock/", views.unlock, name="logins-unlock"),
]
