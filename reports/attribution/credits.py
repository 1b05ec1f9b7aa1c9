"""The attribution models, as pure functions over a deal's touches (DESIGN, "Reports").

A deal's touches are its lead's events that carry a campaign, up to the deal's creation, ordered
by time then id. Each model gives every touch a share as an exact `Fraction`, the shares adding up
to exactly 1; `cents_split` then turns the deal's amount into whole cents per touch that add up
to the amount, so every model's figures add up to the won revenue to the cent.
"""

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from math import floor

FIRST_TOUCH = "first_touch"
LAST_TOUCH = "last_touch"
LINEAR = "linear"
U_SHAPED = "u_shaped"
W_SHAPED = "w_shaped"
TIME_DECAY = "time_decay"

MODELS: dict[str, str] = {
    FIRST_TOUCH: "First touch",
    LAST_TOUCH: "Last touch",
    LINEAR: "Linear",
    U_SHAPED: "U-shaped",
    W_SHAPED: "W-shaped",
    TIME_DECAY: "Time decay",
}

HALF_LIFE_DAYS = 7
SECONDS_A_DAY = 86_400
# Decay weights come from floats; a bounded denominator keeps the exact arithmetic small.
WEIGHT_DENOMINATOR = 10**12


@dataclass(frozen=True)
class Touch:
    """One touch of a deal: the event, the campaign it carries, when it happened."""

    event_id: int
    campaign_id: int
    occurred_at: datetime


def touch_shares(
    model: str, touches: list[Touch], *, mql_at: datetime | None, deal_created: datetime
) -> list[Fraction]:
    """Each touch's share of the deal under `model`, in the touches' order, adding up to exactly 1
    (an empty list for no touches: the caller credits "(no campaign)")."""
    if model not in MODELS:
        raise ValueError(f"Unknown attribution model {model!r}; one of {', '.join(MODELS)}.")
    if not touches:
        return []
    if model == W_SHAPED:
        return _w_shaped(touches, mql_at)
    if model == TIME_DECAY:
        return _time_decay(touches, deal_created)
    return _positional(model, len(touches))


def _positional(model: str, n: int) -> list[Fraction]:
    """First touch, last touch, linear and U-shaped depend only on the number of touches."""
    if model == FIRST_TOUCH:
        return [Fraction(1)] + [Fraction(0)] * (n - 1)
    if model == LAST_TOUCH:
        return [Fraction(0)] * (n - 1) + [Fraction(1)]
    if model == LINEAR or n <= 2:  # U-shaped: one touch takes all, two take half each
        return [Fraction(1, n)] * n
    middle = Fraction(1, 5) / (n - 2)
    return [Fraction(2, 5)] + [middle] * (n - 2) + [Fraction(2, 5)]


def _w_shaped(touches: list[Touch], mql_at: datetime | None) -> list[Fraction]:
    """W-shaped, in steps:

    1. the key touches are t1, the MQL touch (the last touch at or before the lead became MQL)
       and tn; each key gets weight 3 (30 of 100), added up where two keys are one touch;
    2. the other touches share weight 1 (10 of 100) evenly;
    3. the weights are normalised to add up to 1. With three keys and other touches that is
       exactly 30/30/30/10; with no other touches the key shares are scaled to 100%.

    A lead that never became MQL, or only before its first touch, has no MQL touch: its keys are
    t1 and tn alone (normalised as above: 3/7, 3/7 and 1/7 over the others).
    """
    n = len(touches)
    weights = [Fraction(0)] * n
    keys = [0, n - 1]
    if mql_at is not None:
        before = [i for i, touch in enumerate(touches) if touch.occurred_at <= mql_at]
        if before:
            keys.append(before[-1])
    for i in keys:
        weights[i] += 3
    others = [i for i in range(n) if i not in keys]
    for i in others:
        weights[i] = Fraction(1, len(others))
    return _normalised(weights)


def _time_decay(touches: list[Touch], deal_created: datetime) -> list[Fraction]:
    """Time decay: weight 2^(−days before the deal's creation ÷ 7), normalised.

    Weights are taken relative to the newest touch (which gets 1), the same after normalising,
    so touches years old never underflow to all zeros.
    """
    ages = [(deal_created - touch.occurred_at).total_seconds() / SECONDS_A_DAY for touch in touches]
    newest = min(ages)
    weights = [
        Fraction(2.0 ** (-(age - newest) / HALF_LIFE_DAYS)).limit_denominator(WEIGHT_DENOMINATOR) for age in ages
    ]
    return _normalised(weights)


def _normalised(weights: list[Fraction]) -> list[Fraction]:
    total = sum(weights, Fraction(0))
    return [weight / total for weight in weights]


def cents_split(amount_cents: int, shares: list[Fraction]) -> list[int]:
    """Whole cents per share by largest remainder, adding up to exactly `amount_cents`.

    1. each share gets the floor of its exact amount;
    2. the cents left over (fewer than the number of shares) go one each to the shares with the
       largest fractional remainders, ties to the earlier position.
    """
    if not shares:
        return []
    if sum(shares, Fraction(0)) != 1:
        raise ValueError("Shares must add up to exactly 1.")
    exact = [amount_cents * share for share in shares]
    cents = [floor(value) for value in exact]
    left = amount_cents - sum(cents)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - cents[i]), i))
    for i in order[:left]:
        cents[i] += 1
    return cents
