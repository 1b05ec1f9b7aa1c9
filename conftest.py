"""Test-wide fixtures: a fast password hasher, a broker of the run's own, one user per role."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.test import Client

from smarketing.roles import Role

pytest_plugins = ["tests.celery_worker"]


@pytest.fixture(autouse=True, scope="session")
def _broker_of_this_run() -> Iterator[None]:
    """Tasks that tests queue on the filesystem broker go to this run's folders, not var/broker/,
    where a developer's `make run` worker would pick them up after the test database is gone."""
    from smarketing.celery import app

    options = dict(app.conf.broker_transport_options or {})
    folder = Path(django_settings.VAR_DIR) / f"test-broker-{os.getpid()}"
    for key, value in options.items():
        if "folder" in key:
            options[key] = str(folder / Path(value).name)
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    app.conf.broker_transport_options = options
    yield
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, *roles: Role, **extra: object) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


@pytest.fixture
def marketer(db: None) -> User:
    return make_user("marketer", Role.MARKETING, first_name="Mara", last_name="Keting")


@pytest.fixture
def rep(db: None) -> User:
    return make_user("rep", Role.SALES, first_name="Rafa", last_name="Sales")


@pytest.fixture
def other_rep(db: None) -> User:
    return make_user("rep2", Role.SALES)


@pytest.fixture
def manager(db: None) -> User:
    return make_user("manager", Role.MANAGER, first_name="Mona", last_name="Ager")


@pytest.fixture
def nobody(db: None) -> User:
    return make_user("nobody")


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def marketer_client(marketer: User) -> Client:
    return logged_in(marketer)


@pytest.fixture
def rep_client(rep: User) -> Client:
    return logged_in(rep)


@pytest.fixture
def manager_client(manager: User) -> Client:
    return logged_in(manager)
