"""The six attribution models and the cents split, against shares worked out by hand."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.attribution.credits import MODELS, Touch, cents_split, touch_shares

DEAL = datetime(2026, 3, 31, 12, tzinfo=UTC)


def touches(*days_before: float) -> list[Touch]:
    """Touches that many days before the deal's creation, oldest first."""
    return [
        Touch(event_id=i, campaign_id=i, occurred_at=DEAL - timedelta(days=days))
        for i, days in enumerate(days_before, start=1)
    ]


def shares(model: str, items: list[Touch], mql_at: datetime | None = None) -> list[F]:
    return touch_shares(model, items, mql_at=mql_at, deal_created=DEAL)


ONE = touches(3)
TWO = touches(10, 2)
FIVE = touches(40, 30, 20, 10, 1)


@pytest.mark.parametrize("model", MODELS)
def test_one_touch_takes_the_whole_deal_under_every_model(model):
    assert shares(model, ONE, mql_at=DEAL) == [1]


@pytest.mark.parametrize("model", MODELS)
def test_no_touches_have_no_shares(model):
    assert shares(model, [], mql_at=None) == []


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", [1, 0]),
        ("last_touch", [0, 1]),
        ("linear", [F(1, 2), F(1, 2)]),
        ("u_shaped", [F(1, 2), F(1, 2)]),
    ],
)
def test_two_touches(model, expected):
    assert shares(model, TWO) == expected


def test_w_shaped_two_touches_with_the_mql_touch_first_scales_the_keys_to_the_whole():
    """t1 is both first and MQL touch: weights 30+30 and 30 → 2/3 and 1/3."""
    assert shares("w_shaped", TWO, mql_at=DEAL - timedelta(days=5)) == [F(2, 3), F(1, 3)]


def test_time_decay_two_touches_eight_days_apart():
    """10 and 2 days before: weights 2^(−10/7) and 2^(−2/7), i.e. 2^(−8/7) : 1 after normalising."""
    first, last = shares("time_decay", TWO)
    assert first + last == 1
    assert float(first) == pytest.approx(2 ** (-8 / 7) / (1 + 2 ** (-8 / 7)), rel=1e-9)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", [1, 0, 0, 0, 0]),
        ("last_touch", [0, 0, 0, 0, 1]),
        ("linear", [F(1, 5)] * 5),
        # 40% t1, 40% t5, 20% over t2…t4.
        ("u_shaped", [F(2, 5), F(1, 15), F(1, 15), F(1, 15), F(2, 5)]),
    ],
)
def test_five_touches(model, expected):
    assert shares(model, FIVE) == expected


def test_w_shaped_five_touches_with_three_distinct_keys():
    """MQL after t3: keys t1, t3, t5 at 30% each; t2 and t4 share 10%."""
    mql = DEAL - timedelta(days=15)
    assert shares("w_shaped", FIVE, mql_at=mql) == [F(3, 10), F(1, 20), F(3, 10), F(1, 20), F(3, 10)]


def test_w_shaped_five_touches_where_t1_is_also_the_mql_touch():
    """MQL between t1 and t2: t1 takes 30 + 30 = 60%, t5 30%, t2…t4 share 10%."""
    mql = DEAL - timedelta(days=35)
    assert shares("w_shaped", FIVE, mql_at=mql) == [F(6, 10), F(1, 30), F(1, 30), F(1, 30), F(3, 10)]


def test_w_shaped_five_touches_where_the_mql_touch_is_also_the_last():
    """MQL at the deal: t5 takes 60%, t1 30%, t2…t4 share 10%."""
    assert shares("w_shaped", FIVE, mql_at=DEAL) == [F(3, 10), F(1, 30), F(1, 30), F(1, 30), F(6, 10)]


def test_w_shaped_an_mql_at_the_very_moment_of_a_touch_counts_that_touch():
    mql = FIVE[1].occurred_at
    assert shares("w_shaped", FIVE, mql_at=mql)[1] == F(3, 10)


def test_w_shaped_with_no_other_touches_scales_the_key_shares_to_the_whole():
    """Three touches, MQL after t2: 30/30/30 and nothing else → a third each."""
    three = touches(20, 10, 1)
    assert shares("w_shaped", three, mql_at=DEAL - timedelta(days=5)) == [F(1, 3)] * 3


def test_w_shaped_without_an_mql_touch_keeps_t1_and_tn_as_keys():
    """Never MQL: weights 3, 3 and 1 (split over t2…t4) → 3/7, 3/7, 1/21 each."""
    assert shares("w_shaped", FIVE, mql_at=None) == [F(3, 7), F(1, 21), F(1, 21), F(1, 21), F(3, 7)]
    assert shares("w_shaped", FIVE, mql_at=DEAL - timedelta(days=100)) == shares("w_shaped", FIVE, mql_at=None)


def test_time_decay_halves_the_weight_each_week_before_the_deal():
    """0, 7 and 14 days before: weights 1, ½, ¼ → 4/7, 2/7, 1/7 (oldest first)."""
    assert shares("time_decay", touches(14, 7, 0)) == [F(1, 7), F(2, 7), F(4, 7)]


def test_time_decay_of_touches_decades_old_still_adds_up():
    result = shares("time_decay", touches(20_000, 10_000, 5))
    assert sum(result) == 1 and result[-1] == 1 - result[0] - result[1]


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="Unknown attribution model"):
        shares("random", ONE)


# --- Cents ---------------------------------------------------------------------------------


def test_100_over_three_linear_touches_gives_the_odd_cent_to_the_first():
    assert cents_split(10_000, [F(1, 3)] * 3) == [3334, 3333, 3333]


def test_the_largest_remainders_get_the_leftover_cents():
    """1.00 at 1/7, 2/7, 4/7: 14.28…, 28.57…, 57.14… → floors 14, 28, 57 (99), the cent to 28.57."""
    assert cents_split(100, [F(1, 7), F(2, 7), F(4, 7)]) == [14, 29, 57]


def test_equal_remainders_go_to_the_earlier_touches():
    assert cents_split(2, [F(1, 4)] * 4) == [1, 1, 0, 0]


def test_shares_that_do_not_add_up_to_one_are_refused():
    with pytest.raises(ValueError, match="add up"):
        cents_split(100, [F(1, 2), F(1, 3)])


@given(
    days=st.lists(st.floats(min_value=0, max_value=3650, allow_nan=False), min_size=1, max_size=30),
    mql_days=st.none() | st.floats(min_value=-10, max_value=4000, allow_nan=False),
    amount=st.integers(min_value=0, max_value=10**14),
)
def test_every_model_splits_any_amount_into_cents_that_add_up_exactly(days, mql_days, amount):
    items = touches(*sorted(days, reverse=True))
    mql_at = None if mql_days is None else DEAL - timedelta(days=mql_days)
    for model in MODELS:
        result = touch_shares(model, items, mql_at=mql_at, deal_created=DEAL)
        assert sum(result) == 1 and all(share >= 0 for share in result)
        cents = cents_split(amount, result)
        assert sum(cents) == amount and all(cent >= 0 for cent in cents)
