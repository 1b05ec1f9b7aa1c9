"""Password reset by email: one confidential outbox message with a working link, the same
answer for an unknown address, and a new password that ends a lockout."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from playbooks.models import OutboundEmail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-Pass-9921"
NEW_PASSWORDS = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}


@pytest.fixture(autouse=True)
def _no_reset_sent_lately() -> None:
    cache.clear()  # one message per account a minute (forms.RESET_EMAIL_EVERY_SECONDS)


def ask_for_reset(email: str):
    return Client().post(reverse("accounts:password-reset"), {"email": email})


def link_path(message: OutboundEmail) -> str:
    return re.search(r"http://[^/\s]+(/password/reset/\S+/)", message.text)[1]


def test_a_reset_writes_one_outbox_message_whose_link_sets_a_new_password(marketer, django_capture_on_commit_callbacks):
    marketer.email = "mara@example.com"
    marketer.save(update_fields=["email"])

    with django_capture_on_commit_callbacks() as sends:
        answer = ask_for_reset("MARA@example.com")
    assert answer.status_code == 302 and answer.url == reverse("accounts:password-reset-done")

    [message] = OutboundEmail.objects.all()
    assert message.to_email == "mara@example.com" and message.lead_id is None
    assert message.subject == "Reset your smarketing password" and message.is_confidential()
    assert len(sends) == 1 and not mail.outbox  # sent by the worker, after the commit

    client = Client()
    form = client.get(link_path(message), follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(form.redirect_chain[-1][0], NEW_PASSWORDS)
    assert done.status_code == 302 and done.url == reverse("accounts:password-reset-complete")
    assert Client().post(reverse("login"), {"username": "marketer", "password": NEW_PASSWORD}).status_code == 302

    assert not Client().get(link_path(message), follow=True).context["validlink"]  # used once


def test_an_unknown_address_gets_the_same_answer_and_no_message(marketer):
    marketer.email = "mara@example.com"
    marketer.save(update_fields=["email"])

    answer = ask_for_reset("nobody@example.com")

    assert answer.status_code == 302 and answer.url == reverse("accounts:password-reset-done")
    assert not OutboundEmail.objects.exists()


def test_a_reset_asked_without_an_address_is_a_400_naming_the_field(marketer):
    answer = ask_for_reset("")
    assert answer.status_code == 400
    assert '<div class="error" id="id_email_error" role="alert">This field is required.</div>' in answer.text
    assert 'aria-describedby="id_email_error"' in answer.text
    assert not OutboundEmail.objects.exists()


def test_a_new_password_sent_empty_or_mismatched_is_a_400_per_field_and_changes_nothing(marketer):
    marketer.email = "mara@example.com"
    marketer.save(update_fields=["email"])
    ask_for_reset("mara@example.com")
    client = Client()
    form_url = client.get(link_path(OutboundEmail.objects.get()), follow=True).redirect_chain[-1][0]

    empty = client.post(form_url, {})
    assert empty.status_code == 400 and empty.context["validlink"]
    for name in ("new_password1", "new_password2"):
        assert f'<div class="error" id="id_{name}_error" role="alert">This field is required.</div>' in empty.text
    mismatched = client.post(form_url, NEW_PASSWORDS | {"new_password2": "another-Pass-9921"})
    assert mismatched.status_code == 400
    assert "The two password fields didn’t match." in mismatched.text

    marketer.refresh_from_db()
    assert marketer.check_password("pw-marketer")
    assert client.post(form_url, NEW_PASSWORDS).status_code == 302  # the link still works after both


def test_the_outbox_shows_a_reset_message_without_its_link(marketer, manager_client):
    marketer.email = "mara@example.com"
    marketer.save(update_fields=["email"])
    ask_for_reset("mara@example.com")
    message = OutboundEmail.objects.get()

    page = manager_client.get(reverse("playbooks:outbox-email", args=[message.pk]))

    assert page.status_code == 200 and "mara@example.com" in page.text
    assert "/password/reset/" not in page.text and "Not shown" in page.text
    assert manager_client.get(reverse("playbooks:outbox-email-html", args=[message.pk])).status_code == 404


def test_a_new_password_ends_the_lockout(marketer):
    marketer.email = "mara@example.com"
    marketer.save(update_fields=["email"])
    for _ in range(5):
        Client().post(reverse("login"), {"username": "marketer", "password": "wrong"})
    ask_for_reset("mara@example.com")
    client = Client()
    form = client.get(link_path(OutboundEmail.objects.get()), follow=True)

    client.post(form.redirect_chain[-1][0], NEW_PASSWORDS)

    assert Client().post(reverse("login"), {"username": "marketer", "password": NEW_PASSWORD}).status_code == 302


def test_asking_again_at_once_sends_no_second_message(marketer):
    marketer.email = "mara@example.com"
    marketer.save(update_fields=["email"])

    ask_for_reset("mara@example.com")
    again = ask_for_reset("mara@example.com")

    assert again.status_code == 302 and OutboundEmail.objects.count() == 1
