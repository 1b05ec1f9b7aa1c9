"""Writes on axes' rows: releasing a lockout before its cool-off ends."""

import logging

from axes.utils import reset
from django.contrib.auth.models import AbstractBaseUser

log = logging.getLogger(__name__)


def lockout_release(*, username: str | None, ip_address: str | None, by: AbstractBaseUser) -> int:
    """Forget the failed logins of a username, an address, or the username from that address
    (both given), so the next login is judged afresh; returns how many records went."""
    if not username and not ip_address:
        raise ValueError("A lockout is released by username, address or both.")
    count = reset(ip=ip_address or None, username=username or None)
    log.info("login lockout released: username=%s ip=%s by user %s (%d records)", username, ip_address, by.pk, count)
    return count
