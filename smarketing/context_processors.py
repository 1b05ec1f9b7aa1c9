"""Navigation per role, for the base layout."""

import re
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from smarketing.roles import Role, primary_role

# What each role's left navigation holds: (label, url name).
NAV_BY_ROLE: dict[Role, list[tuple[str, str]]] = {
    Role.MARKETING: [
        ("Home", "home"),
        ("Dashboard", "reports:dashboard"),
        ("Leads", "leads:list"),
        ("Imports", "leads:imports"),
        ("Campaigns", "leads:campaigns"),
        ("Playbooks", "playbooks:playbooks"),
        ("Email", "playbooks:email-templates"),
        ("Lists", "playbooks:lists"),
        ("Referrals", "playbooks:referrals"),
        ("Forms", "leads:forms"),
        ("Personas", "leads:personas"),
        ("Scoring", "leads:scoring"),
        ("Definitions", "leads:definitions"),
        ("Agreement", "reports:agreement"),
        ("ROI", "reports:roi"),
        ("Win/loss", "reports:win-loss"),
        ("Funnel", "reports:funnel"),
        ("Meeting packs", "reports:meeting-packs"),
    ],
    Role.SALES: [
        ("My queue", "leads:queue"),
        ("Home", "home"),
        ("Deals", "leads:deals"),
        ("Dashboard", "reports:dashboard"),
        ("My leads", "leads:list"),
        ("Agreement", "reports:agreement"),
        ("Definitions", "leads:definitions"),
    ],
    Role.MANAGER: [
        ("Dashboard", "reports:dashboard"),
        ("Team queue", "leads:queue"),
        ("Teams", "leads:teams"),
        ("Deals", "leads:deals"),
        ("Agreement", "reports:agreement"),
        ("ROI", "reports:roi"),
        ("Win/loss", "reports:win-loss"),
        ("Funnel", "reports:funnel"),
        ("Meeting packs", "reports:meeting-packs"),
        ("Leads", "leads:list"),
        ("Imports", "leads:imports"),
        ("Campaigns", "leads:campaigns"),
        ("Playbooks", "playbooks:playbooks"),
        ("Email", "playbooks:email-templates"),
        ("Lists", "playbooks:lists"),
        ("Referrals", "playbooks:referrals"),
        ("Forms", "leads:forms"),
        ("Personas", "leads:personas"),
        ("Scoring", "leads:scoring"),
        ("Definitions", "leads:definitions"),
        ("Logins", "accounts:logins"),
        ("Audit log", "audit:changes"),
    ],
}


# Under /leads/ live many sections; the lead list is current only on its own pages.
LEAD_LIST_PAGES = re.compile(r"^/leads/(\d+/|views/|bulk/|export)")
# Under /playbooks/ live email, lists and referrals too; Playbooks is current only on its own.
PLAYBOOK_PAGES = re.compile(r"^/playbooks/(\d+/|new/|enrolments/)")


def _is_current(path: str, url: str) -> bool:
    if url == "/":
        return path == url
    if url == "/leads/":
        return path == url or bool(LEAD_LIST_PAGES.match(path))
    if url == "/playbooks/":
        return path == url or bool(PLAYBOOK_PAGES.match(path))
    return path.startswith(url)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = primary_role(user)
    items = []
    for label, name in NAV_BY_ROLE.get(role, []):
        url = reverse(name)
        items.append({"label": label, "url": url, "active": _is_current(request.path, url)})
    # Only the closest match is current: /leads/imports/ is Imports, not also Leads.
    matches = [item for item in items if item["active"]]
    if matches:
        closest = max(matches, key=lambda item: len(item["url"]))
        for item in matches:
            item["active"] = item is closest
    return {"nav_items": items, "user_role": role.value if role else "No role"}
