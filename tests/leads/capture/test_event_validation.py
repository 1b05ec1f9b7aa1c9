"""The batch validator's fast path agrees with DRF's: whatever it accepts, DRF accepts the same way."""

from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from leads.capture.serializers import EventItemIn

NOW = datetime.now(UTC)

odd_values = st.one_of(
    st.sampled_from(["", " ", " k-1", "a\x00b", "Page_Viewed", "ana@@example.com", "ñandú@example.com", "yesterday"]),
    st.sampled_from(["2026-03-01T10:00:00", "2026-03-01 10:00Z", "1999-12-31T23:59:59Z"]),
    st.sampled_from([(NOW + timedelta(days=2)).isoformat(), "x" * 300, [], {"a": "x\x00"}, {"big": "x" * 9_000}]),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)
plain_values = {
    "idempotency_key": st.one_of(st.from_regex(r"[!-~]{1,40}", fullmatch=True), st.text(min_size=1, max_size=210)),
    "email": st.emails(),
    "type": st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,70}", fullmatch=True),
    # Hypothesis takes naive bounds and adds the zone (or none) itself.
    "occurred_at": st.datetimes(
        min_value=datetime(1998, 1, 1),  # noqa: DTZ001
        max_value=datetime(2028, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, UTC, None]),
    ).map(lambda when: when.isoformat()),
    "properties": st.dictionaries(
        st.text(max_size=5), st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=3
    ),
}


@st.composite
def items(draw: st.DrawFn) -> dict:
    """Mostly plausible events: now and then one field odd, one left out, or one more given."""
    item = {name: draw(values) for name, values in plain_values.items()}
    change = draw(st.sampled_from(["none", "none", "odd", "odd", "missing", "extra"]))
    name = draw(st.sampled_from(sorted(item)))
    if change == "odd":
        item[name] = draw(odd_values)
    elif change == "missing":
        del item[name]
    elif change == "extra":
        item[draw(st.sampled_from(["lead", "note"]))] = draw(st.sampled_from([{"company": "Acme"}, 1]))
    return item


@settings(max_examples=400, deadline=None)
@given(item=items())
def test_the_fast_path_accepts_only_what_drf_accepts_and_reads_it_alike(item: dict) -> None:
    fast = EventItemIn.plainly_valid(item)
    try:
        slow = EventItemIn.event_from(EventItemIn().run_validation(item))
    except ValidationError:
        slow = None
    event("fast path" if fast is not None else "DRF accepts" if slow is not None else "refused")
    if fast is not None:
        assert slow == fast


def test_an_integrations_plain_event_takes_the_fast_path() -> None:
    item = {
        "idempotency_key": "evt-1",
        "email": "ana@example.com",
        "type": "page_viewed",
        "occurred_at": "2026-03-01T10:00:00+01:00",
        "properties": {"utm_source": "newsletter"},
    }
    fast = EventItemIn.plainly_valid(item)
    assert fast is not None
    assert fast == EventItemIn.event_from(EventItemIn().run_validation(item))
    assert EventItemIn.plainly_valid({**item, "occurred_at": "2026-03-01T10:00:00"}) is None  # naive: DRF says why
