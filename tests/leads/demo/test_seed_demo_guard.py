"""`seed_demo --if-empty` leaves a database that holds leads alone."""

from io import StringIO

import pytest
from django.core.management import call_command

from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_if_empty_leaves_an_existing_database_alone():
    LeadFactory()
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "not seeded" in out.getvalue() and Lead.objects.count() == 1
