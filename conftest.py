"""Test-wide fixtures: a fast password hasher, a broker of the run's own, one user per role, and
the rows the migrations seed put back after every flush of the database."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import AppConfig
from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db.models.signals import post_migrate
from django.test import Client

from leads.sales.defaults import sales_defaults_seed
from smarketing.roles import Role, roles_seed

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


def _seeds_back(sender: AppConfig, apps: Apps = live_apps, **kwargs: object) -> None:
    if sender.label == "leads":  # post_migrate comes once per app
        roles_seed(apps)
        sales_defaults_seed(apps)


@pytest.fixture(autouse=True, scope="session")
def _seeds_outlive_flushes() -> Iterator[None]:
    """A transactional test (live server, worker, browser) ends by flushing every table, as does
    the API fuzz module, and the rows the data migrations seed go with them: the roles' groups,
    the deal stages, the reasons. The flush then sends post_migrate, which brings back Django's
    content types and permissions; the seeds come back with them, so that every test meets the
    database the migrations left, whatever ran before it (a few cheap queries per flush)."""
    post_migrate.connect(_seeds_back, dispatch_uid="tests-seeds-back")
    yield
    post_migrate.disconnect(dispatch_uid="tests-seeds-back")


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
