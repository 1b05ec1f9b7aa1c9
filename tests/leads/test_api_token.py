from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.management.commands.api_token import Command

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_a_new_token_alone_on_the_last_line(marketer):
    out, err = run("marketer")
    key = out.strip().splitlines()[-1]
    assert key == Token.objects.get(user=marketer).key
    assert err == ""


def test_the_printed_token_authenticates_the_user(marketer):
    key = run("marketer")[0].strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "marketer"


def test_running_it_again_prints_the_same_token(marketer):
    first = run("marketer")[0].strip().splitlines()[-1]
    second = run("marketer")[0].strip().splitlines()[-1]
    assert first == second
    assert Token.objects.count() == 1


def test_reset_replaces_the_token(marketer):
    first = run("marketer")[0].strip().splitlines()[-1]
    second = run("marketer", "--reset")[0].strip().splitlines()[-1]
    assert first != second
    assert Token.objects.get(user=marketer).key == second


def test_warns_when_the_user_cannot_write(rep):
    out, err = run("rep")
    assert "can read but not post" in err
    assert out.strip().splitlines()[-1] == Token.objects.get(user=rep).key


def test_an_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("ghost")
    assert Token.objects.count() == 0


def test_an_unknown_user_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "api_token", "ghost"])
    assert exit_info.value.code != 0
    assert "No user named" in capsys.readouterr().err
