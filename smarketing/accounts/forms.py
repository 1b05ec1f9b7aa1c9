"""The password-reset forms: the message goes through the outbox, a new password ends a lockout."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.template.loader import render_to_string

from playbooks.email.services import colleagues_email_queue
from smarketing.accounts import services

# One reset message per account at most this often: the form is public, and would otherwise
# let anyone fill a colleague's inbox. The page answers the same either way.
RESET_EMAIL_EVERY_SECONDS = 60


class PasswordResetByOutbox(PasswordResetForm):
    """Django's reset form, whose message is a confidential outbox row the worker sends (kept in
    the outbox with no mail server set), with links to SITE_URL rather than the request's Host."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        if not cache.add(f"password-reset-sent:{context['user'].pk}", True, timeout=RESET_EMAIL_EVERY_SECONDS):
            return
        context = {**context, "site_url": settings.SITE_URL.rstrip("/")}
        colleagues_email_queue(
            to=[to_email],
            subject=render_to_string(subject_template_name, context),
            html=render_to_string(html_email_template_name, context) if html_email_template_name else "",
            text=render_to_string(email_template_name, context),
            cause="password reset",
            confidential=True,
        )


class SetPasswordAndUnlock(SetPasswordForm):
    """The new password from a reset link; whoever could use the link owns the address, so the
    username's lockouts end with it."""

    def save(self, commit: bool = True) -> AbstractBaseUser:
        user = super().save(commit=commit)
        services.lockout_release(username=user.get_username(), ip_address=None, by=user)
        return user


class UnlockForm(forms.Form):
    username = forms.CharField(required=False, max_length=255)
    ip_address = forms.GenericIPAddressField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("username") and not data.get("ip_address"):
            raise forms.ValidationError("Say which lockout to release: a username, an address or both.")
        return data
