"""Login protection: wrong passwords lock a username out from one address for a while, on the
login page and the admin's; managers see and release lockouts; axes' commands release them too."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import make_user

pytestmark = pytest.mark.django_db

LIMIT = 5  # settings' default (LOGIN_FAILURE_LIMIT)
HERE, ELSEWHERE = "10.0.0.1", "10.0.0.2"


def log_in(client: Client, username: str, password: str, *, ip: str = HERE, path: str = "/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client: Client, username: str, times: int = LIMIT, *, ip: str = HERE, path: str = "/login/"):
    for _ in range(times):
        response = log_in(client, username, "wrong", ip=ip, path=path)
    return response


def test_wrong_passwords_lock_the_user_out_and_the_right_one_is_then_refused(marketer):
    client = Client()
    assert fail(client, "marketer", LIMIT - 1).status_code == 400  # the form again, with its error

    locked = log_in(client, "marketer", "wrong")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.text and "about 15 minutes" in locked.text
    assert int(locked["Retry-After"]) == 15 * 60

    refused = log_in(client, "marketer", "pw-marketer")
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    assert "Reset your password" in refused.text


def test_a_wrong_password_is_a_400_that_says_so_and_counts_towards_the_lock(marketer):
    client = Client()
    refused = log_in(client, "marketer", "wrong")
    assert refused.status_code == 400 and "_auth_user_id" not in client.session
    assert '<div class="error" role="alert">Please enter a correct username and password.' in refused.text
    assert 'value="marketer"' in refused.text  # the username is kept for the next try
    assert AccessAttempt.objects.get(username="marketer").failures_since_start == 1


def test_a_login_sent_empty_is_a_400_naming_both_fields_and_counts_nothing(db):
    client = Client()
    response = client.post("/login/", {}, REMOTE_ADDR=HERE)
    assert response.status_code == 400 and "_auth_user_id" not in client.session
    for name in ("username", "password"):
        assert f'<ul class="errorlist" id="id_{name}_error"><li>This field is required.</li></ul>' in response.text
    assert not AccessAttempt.objects.exists() and not AccessFailureLog.objects.exists()


def test_other_users_and_other_addresses_are_not_locked(marketer, rep):
    fail(Client(), "marketer")

    assert log_in(Client(), "rep", "pw-rep").status_code == 302
    assert log_in(Client(), "marketer", "pw-marketer", ip=ELSEWHERE).status_code == 302


def test_the_lock_ends_after_the_cool_off(marketer):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(Client(), "marketer")
        clock.shift(timedelta(minutes=14))
        assert log_in(Client(), "marketer", "pw-marketer").status_code == 429
        clock.shift(timedelta(minutes=1, seconds=1))
        assert log_in(Client(), "marketer", "pw-marketer").status_code == 302


def test_a_right_password_clears_the_count(marketer):
    fail(Client(), "marketer", LIMIT - 1)
    assert log_in(Client(), "marketer", "pw-marketer").status_code == 302
    assert fail(Client(), "marketer", LIMIT - 1).status_code == 400


def test_the_admin_login_locks_too(db):
    make_user("boss", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    assert fail(Client(), "boss", path=admin_login).status_code == 429

    refused = log_in(Client(), "boss", "pw-boss", path=admin_login)
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.text
    assert log_in(Client(), "boss", "pw-boss", path="/login/").status_code == 429  # one lock for both pages


def test_lockout_by_username_alone_when_configured(marketer, settings):
    settings.AXES_LOCKOUT_PARAMETERS = ["username"]
    fail(Client(), "marketer")
    assert log_in(Client(), "marketer", "pw-marketer", ip=ELSEWHERE).status_code == 429


def test_managers_see_failures_and_lockouts_and_unlock(marketer, rep, manager_client, django_assert_num_queries):
    fail(Client(), "marketer")
    log_in(Client(), "rep", "wrong", ip=ELSEWHERE)

    with django_assert_num_queries(5):  # session, user, roles, lockouts, failures
        page = manager_client.get(reverse("accounts:logins"))
    assert page.status_code == 200
    [lockout] = page.context["lockouts"]
    assert (lockout.username, lockout.ip_address, lockout.failures) == ("marketer", HERE, LIMIT)
    assert len(page.context["failures"]) == LIMIT + 1

    unlocked = manager_client.post(reverse("accounts:logins-unlock"), {"username": "marketer", "ip_address": HERE})
    assert unlocked.status_code == 302
    assert not AccessAttempt.objects.filter(username="marketer").exists()
    assert AccessFailureLog.objects.count() == LIMIT + 1  # the record of failures stays
    assert log_in(Client(), "marketer", "pw-marketer").status_code == 302


def test_unlock_needs_a_username_or_an_address(manager_client):
    assert manager_client.post(reverse("accounts:logins-unlock"), {}).status_code == 400


@pytest.mark.parametrize("client_name", ["marketer_client", "rep_client"])
def test_others_may_not_see_or_unlock(client_name, request, marketer):
    fail(Client(), "marketer")
    client = request.getfixturevalue(client_name)

    assert client.get(reverse("accounts:logins")).status_code == 403
    assert client.post(reverse("accounts:logins-unlock"), {"username": "marketer"}).status_code == 403
    assert AccessAttempt.objects.filter(username="marketer").exists()


def test_the_reset_commands_unlock(marketer, rep):
    fail(Client(), "marketer")
    fail(Client(), "rep", ip=ELSEWHERE)

    call_command("axes_reset_username", "marketer")
    assert log_in(Client(), "marketer", "pw-marketer").status_code == 302
    assert log_in(Client(), "rep", "pw-rep", ip=ELSEWHERE).status_code == 429

    call_command("axes_reset")
    assert log_in(Client(), "rep", "pw-rep", ip=ELSEWHERE).status_code == 302


def test_the_login_page_offers_a_password_reset(db):
    page = Client().get(reverse("login"))
    assert reverse("accounts:password-reset") in page.text


def test_logins_are_in_the_managers_menu_only(manager_client, marketer_client):
    def labels(client: Client) -> list[str]:
        return [item["label"] for item in client.get(reverse("home")).context["nav_items"]]

    assert "Logins" in labels(manager_client) and "Logins" not in labels(marketer_client)
