"""The demo's clock: the product's services run with the time set to each moment of the demo's
year, so every timestamp they write (and every "as of now" they evaluate) is that moment's."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import time_machine


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Stop the clock at `moment` for the block (Python's clocks: the databases take the times
    the product passes them)."""
    with time_machine.travel(moment, tick=False):
        yield
