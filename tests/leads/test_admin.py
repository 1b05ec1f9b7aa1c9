"""The admin's lead page: last touch comes from events, so it is shown but not edited there."""

import pytest
from django.urls import reverse

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_the_lead_change_page_shows_last_touch_without_an_input_for_it(admin_client):
    lead = LeadFactory()
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert page.status_code == 200
    assert b'name="last_touch_at' not in page.content  # no input (date and time parts alike)
    assert b'name="last_source"' in page.content  # the other touch facts stay editable
