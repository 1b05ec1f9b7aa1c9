"""The article's example definition, used by the demo and as the starting draft."""

from typing import Any

# MQL: registered for the webinar and then attended it.
ARTICLE_MQL: dict[str, Any] = {
    "op": "all",
    "children": [
        {"op": "has_event", "event": "webinar_registered"},
        {"op": "event_after", "event": "webinar_attended", "after": "webinar_registered"},
    ],
}

# SQL: an MQL that, after the webinar, downloaded the price list and started a trial.
ARTICLE_SQL: dict[str, Any] = {
    "op": "all",
    "children": [
        {"op": "event_after", "event": "pricing_downloaded", "after": "webinar_attended"},
        {"op": "event_after", "event": "trial_started", "after": "webinar_attended"},
    ],
}
