"""The rows the data migrations seed (the roles' groups, the reasons, the deal stages) are there
in every test: after the migrations, and again after a test that flushed the database."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from leads.models import DealStage, Reason
from leads.sales.defaults import REASONS, STAGES, sales_defaults_seed
from smarketing.roles import Role


def seeded() -> tuple[set, list, set]:
    return (
        set(Group.objects.values_list("name", flat=True)),
        list(DealStage.objects.values_list("name", "outcome")),
        set(Reason.objects.values_list("kind", "code")),
    )


EXPECTED = (
    {role.value for role in Role},
    STAGES,
    {(kind, code) for kind, entries in REASONS.items() for code, _ in entries},
)


@pytest.mark.django_db(transaction=True)
def test_a_flush_of_the_database_leaves_what_the_migrations_seeded() -> None:
    assert seeded() == EXPECTED
    call_command("flush", interactive=False, verbosity=0)
    assert seeded() == EXPECTED


@pytest.mark.django_db
def test_seeding_again_adds_only_what_is_missing_and_keeps_a_managers_edits() -> None:
    DealStage.objects.filter(name="Demo").update(position=9)
    Reason.objects.filter(kind="lost", code="price").update(label="Too expensive")
    Reason.objects.filter(kind="reject", code="spam").delete()
    sales_defaults_seed(apps)
    assert DealStage.objects.filter(name="Demo").get().position == 9
    assert Reason.objects.get(kind="lost", code="price").label == "Too expensive"
    assert Reason.objects.filter(kind="reject", code="spam").count() == 1
    assert Reason.objects.count() == len(EXPECTED[2])
