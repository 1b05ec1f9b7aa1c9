"""What the referral tests share: customers with codes, visitors from addresses of their own."""

import itertools

import pytest
from django.test import Client

from leads.models import Lead, Stage
from playbooks.referrals import services
from tests.factories import LeadFactory

_addresses = itertools.count(1)


@pytest.fixture
def visitor() -> Client:
    """A browser from an address no other test used: the referral page's rate limit counts per
    address over a minute, and the cache outlives each test."""
    n = next(_addresses)
    return Client(REMOTE_ADDR=f"10.77.{n // 250}.{n % 250 + 1}")


@pytest.fixture
def customer(db: None) -> Lead:
    return LeadFactory(email="ana@customer.example", first_name="Ana", last_name="Pérez", stage=Stage.CUSTOMER)


@pytest.fixture
def code(customer: Lead) -> str:
    return services.referrer_for(customer).code
