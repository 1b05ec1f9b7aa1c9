import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.conditions import condition_errors, condition_matches
from leads.models import Lead


def test_numeric_list_needs_whole_numbers():
    assert condition_errors({"field": "company_size", "op": "in", "value": ["ten"]})
    assert not condition_errors({"field": "company_size", "op": "in", "value": [10, "20"]})


@pytest.mark.parametrize(
    "condition",
    [
        None,
        {"field": "password", "op": "eq", "value": "x"},
        {"field": "country", "op": "like", "value": "x"},
        {"field": "country", "op": "in", "value": []},
        {"field": "company_size", "op": "gte", "value": "big"},
        {"field": "title", "op": "eq", "value": "  "},
    ],
)
def test_bad_conditions_are_refused(condition):
    assert condition_errors(condition)


@given(size=st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)), bound=st.integers(0, 10**6))
def test_numeric_matching_agrees_with_python_comparison(size, bound):
    lead = Lead(email="a@b.c", company_size=size)
    matched = condition_matches({"field": "company_size", "op": "gte", "value": bound}, lead)
    assert matched == (size is not None and size >= bound)


@given(text=st.text(max_size=20), needle=st.text(min_size=1, max_size=5))
def test_contains_ignores_case(text, needle):
    lead = Lead(email="a@b.c", title=text)
    assert condition_matches({"field": "title", "op": "contains", "value": needle}, lead) == (
        needle.lower() in text.lower()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "title", "op": "contains", "value": "100%"}, {"pct"}),
        ({"field": "title", "op": "contains", "value": "a_b"}, {"under"}),
        ({"field": "email_domain", "op": "in", "value": ["ACME.io"]}, {"pct", "under"}),
        ({"field": "company_size", "op": "lte", "value": 10}, {"pct"}),
        ({"field": "company_size", "op": "absent"}, {"under", "other"}),
        ({"field": "title", "op": "neq", "value": "other"}, {"pct", "under"}),
    ],
)
def test_sql_and_python_agree(condition, expected):
    from django.db import connection

    from leads.conditions import condition_sql
    from tests.factories import LeadFactory

    leads = [
        LeadFactory(email="pct@acme.io", title="100% sure", company_size=5),
        LeadFactory(email="under@acme.io", title="a_b test", company_size=None),
        LeadFactory(email="other@else.io", title="Other", company_size=None),
    ]
    text, params = condition_sql(condition, vendor=connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT l.email FROM leads_lead l WHERE {text}", params)
        found = {row[0].split("@")[0] for row in cursor.fetchall()}
    assert found == expected
    assert {lead.email.split("@")[0] for lead in leads if condition_matches(condition, lead)} == expected
