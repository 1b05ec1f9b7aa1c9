"""Campaigns and their costs: where leads come from, and what bringing them cost.

Every rule is checked here, so the pages, the API and any other caller refuse the same input
with the same message: a Django ValidationError keyed by field ({"budget": ["…"]}).

- A name is required and unique ignoring case (a database constraint backs the check).
- Events and form posts find their campaign by utm_campaign alone, compared exactly
  (`leads.capture.ingest._campaigns_by_utm`), so a non-empty utm_campaign belongs to one
  campaign: two sharing it would split credit arbitrarily, whatever their source or medium.
  UTM values are trimmed, as a link's values are never padded.
- Money (a budget, a cost) is 0 or more, in cents, within the column's 12 digits.
- A cost is entered once incurred: its day is at most one day ahead of today in the
  instance's zone (a day ahead covers a partner's invoice dated in a later time zone).
"""

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.formats import date_format

from leads.models import Campaign, CampaignCost, Channel

CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "budget",
    "starts_on",
    "ends_on",
)


UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


NAME_MAX = Campaign._meta.get_field("name").max_length
UTM_MAX = Campaign._meta.get_field("utm_campaign").max_length
NOTE_MAX = CampaignCost._meta.get_field("note").max_length
MONEY_DIGITS = CampaignCost._meta.get_field("amount").max_digits
MONEY_PLACES = CampaignCost._meta.get_field("amount").decimal_places
CENT = Decimal(1).scaleb(-MONEY_PLACES)
MONEY_MAX = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES) - CENT


# Reports turn days into moments and periods; outside these bounds that would overflow or
# mean a typing slip (year 20225).
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)


COST_DAYS_AHEAD = 1


class _Bad(Exception):
    """One field's refusal, collected with the others' into one ValidationError."""


def _text(value: Any, *, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad("Enter text.")
    text = value.strip()
    if len(text) > limit:
        raise _Bad(f"Use at most {limit} characters (this has {len(text)}).")
    return text


def _name(value: Any) -> str:
    name = _text(value, limit=NAME_MAX)
    if not name:
        raise _Bad("Give the campaign a name.")
    return name


def _channel(value: Any) -> str:
    if value not in Channel.values:
        raise _Bad(f"Choose one of the channels: {', '.join(Channel.labels)}.")
    return value


def _utm(value: Any) -> str:
    return _text(value, limit=UTM_MAX)


def _money(value: Any, *, required: bool) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise _Bad("Enter an amount.")
        return None
    if isinstance(value, bool):
        raise _Bad("Enter an amount, like 1200.50.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Bad("Enter an amount, like 1200.50.") from None
    if not amount.is_finite():
        raise _Bad("Enter an amount, like 1200.50.")
    if amount < 0:
        raise _Bad("Enter 0 or more.")
    if amount > MONEY_MAX:
        raise _Bad(f"Enter at most {MONEY_MAX:,}.")
    if amount != amount.quantize(CENT):
        raise _Bad(f"Use at most {MONEY_PLACES} decimals (cents).")
    return abs(amount.quantize(CENT))  # abs: "-0" is stored as 0


def _budget(value: Any) -> Decimal | None:
    return _money(value, required=False)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _Bad("Enter a date (YYYY-MM-DD).")
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise _Bad(f"Enter a date between {EARLIEST_DAY.year} and {LATEST_DAY.year}.")
    return value


def _cost_day(value: Any) -> date:
    day = _day(value)
    if day is None:
        raise _Bad("Enter the day the cost was incurred.")
    latest = timezone.localdate() + timedelta(days=COST_DAYS_AHEAD)
    if day > latest:
        raise _Bad(f"Enter a day up to {date_format(latest, 'j M Y')}: costs are entered once incurred.")
    return day


CAMPAIGN_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "channel": _channel,
    **dict.fromkeys(UTM_FIELDS, _utm),
    "budget": _budget,
    "starts_on": _day,
    "ends_on": _day,
}


def _apply(values: Mapping[str, Any], checks: Mapping[str, Callable[[Any], Any]]) -> tuple[dict, dict]:
    """Each value through its field's check: (cleaned values, refusals by field)."""
    cleaned, errors = {}, {}
    for name, value in values.items():
        try:
            cleaned[name] = checks[name](value)
        except _Bad as bad:
            errors[name] = [str(bad)]
    return cleaned, errors


def campaign_checked(values: Mapping[str, Any], *, campaign: Campaign | None = None) -> dict[str, Any]:
    """Some of a campaign's values (CAMPAIGN_FIELDS) as it would hold them, or every refusal at
    once by field (ValidationError): each field's rule, the dates' order, a name or utm_campaign
    another campaign holds. `campaign` is the one being changed: the dates are read against its
    own, and it does not clash with itself. The services check with it before saving; forms call
    it too, to show every problem together.
    """
    cleaned, errors = _apply(values, CAMPAIGN_CHECKS)
    if {"starts_on", "ends_on"} & set(cleaned):
        starts = cleaned.get("starts_on", campaign.starts_on if campaign else None)
        ends = cleaned.get("ends_on", campaign.ends_on if campaign else None)
        if starts and ends and ends < starts:
            when = date_format(starts, "j M Y")
            errors.setdefault("ends_on", [f"The campaign starts on {when}: it cannot end before that."])
    for name, messages in _clashes(cleaned, exclude=campaign.pk if campaign else None).items():
        errors.setdefault(name, messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clashes(values: Mapping[str, Any], *, exclude: int | None) -> dict[str, list[str]]:
    """The other campaigns that already hold this name (ignoring case) or this utm_campaign."""
    others = Campaign.objects.exclude(pk=exclude) if exclude else Campaign.objects.all()
    errors = {}
    if "name" in values:
        # The constraint's own expression, so the check and the index agree on what "same" is.
        clash = others.alias(folded=Lower("name")).filter(folded=Lower(Value(values["name"]))).first()
        if clash:
            errors["name"] = [f"“{clash.name}” already exists; campaign names are compared ignoring case."]
    if values.get("utm_campaign"):
        clash = others.filter(utm_campaign=values["utm_campaign"]).first()
        if clash:
            errors["utm_campaign"] = [
                f"Campaign “{clash.name}” already uses it, and events carrying a utm_campaign are credited "
                "to the one campaign that has it. Choose another value."
            ]
    return errors


def _save(campaign: Campaign, values: Mapping[str, Any], **kwargs: Any) -> None:
    """Save a checked campaign; a clash another writer committed since the check (which the
    constraints catch) is refused with the same message."""
    try:
        with transaction.atomic():  # a savepoint: the clash can still be looked up after it fails
            campaign.save(**kwargs)
    except IntegrityError:
        if errors := _clashes(values, exclude=campaign.pk):
            raise ValidationError(errors) from None
        raise


def campaign_create(
    *,
    by: AbstractBaseUser | None,
    name: str,
    channel: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    utm_term: str = "",
    utm_content: str = "",
    budget: Decimal | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Campaign:
    values = {
        "name": name,
        "channel": channel,
        "utm_source": utm_source,
        "utm_medium": utm_medium,
        "utm_campaign": utm_campaign,
        "utm_term": utm_term,
        "utm_content": utm_content,
        "budget": budget,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    with transaction.atomic():
        cleaned = campaign_checked(values)
        campaign = Campaign(**cleaned, created_by=by)
        _save(campaign, cleaned)
    return campaign


def campaign_update(*, campaign: Campaign, by: AbstractBaseUser | None, **changes: Any) -> Campaign:
    """Change some of a campaign's fields (those in CAMPAIGN_FIELDS); only they are checked
    and saved, so a value set before these rules (in the admin) does not block an edit.

    A new utm_campaign credits the events that arrive from now on; events already stored
    keep the campaign they were credited to.
    """
    unknown = set(changes) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise TypeError(f"campaign_update() cannot change {', '.join(sorted(unknown))}")
    with transaction.atomic():
        cleaned = campaign_checked(changes, campaign=campaign)
        changed = {name: value for name, value in cleaned.items() if value != getattr(campaign, name)}
        if not changed:
            return campaign
        for name, value in changed.items():
            setattr(campaign, name, value)
        _save(campaign, changed, update_fields=list(changed))
    return campaign


COST_CHECKS: dict[str, Callable[[Any], Any]] = {
    "incurred_on": _cost_day,
    "amount": lambda value: _money(value, required=True),
    "note": lambda value: _text(value, limit=NOTE_MAX),
}


def campaign_cost_checked(values: Mapping[str, Any]) -> dict[str, Any]:
    """Some of a cost's values (incurred_on, amount, note) as stored, or every refusal by field."""
    cleaned, errors = _apply(values, COST_CHECKS)
    if errors:
        raise ValidationError(errors)
    return cleaned


def campaign_cost_add(
    *, campaign: Campaign, by: AbstractBaseUser | None, incurred_on: date, amount: Decimal, note: str = ""
) -> CampaignCost:
    cleaned = campaign_cost_checked({"incurred_on": incurred_on, "amount": amount, "note": note})
    with transaction.atomic():
        return CampaignCost.objects.create(campaign=campaign, created_by=by, **cleaned)


def campaign_cost_remove(*, cost: CampaignCost, by: AbstractBaseUser | None) -> None:
    """Remove a cost entered by mistake; the campaign's spend drops by its amount."""
    with transaction.atomic():
        cost.delete()
