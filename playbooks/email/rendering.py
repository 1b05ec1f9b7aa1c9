"""Turning a template into the message one lead receives.

A template may use a small, fixed set of variables, written `{{ first_name }}`; their values are
HTML-escaped, so nothing a lead typed into a form can add markup to a message. An unknown
variable is refused when the template is saved (with the list of those that exist), never left
in a sent message. CSS from <style> blocks is inlined into style attributes for mail clients
that drop <style> (css-inline); the message's links are wrapped in signed click-tracking links
and an open pixel is added when the message is rendered for sending (playbooks.email.tracking).
"""

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from html import unescape

import css_inline
from django.utils.html import escape, strip_tags

from leads.models import Lead
from playbooks.referrals import services as referrals

VARIABLES = {
    "first_name": "The lead's first name.",
    "last_name": "The lead's last name.",
    "full_name": "First and last name.",
    "email": "The lead's email address.",
    "company": "The lead's company.",
    "title": "The lead's job title.",
    "unsubscribe_url": "The link that unsubscribes this lead (added to marketing email when missing).",
    "referral_url": "A customer's or evangelist's own referral link (empty for other leads).",
    "nps_url": "The lead's link to the question “How likely are you to recommend us?” (0–10).",
}
# Links made only when a template uses them: making a referral link gives a customer a code.
LINK_VARIABLES: dict[str, Callable[[Lead], str]] = {
    "referral_url": lambda lead: referrals.referral_url(lead) if referrals.may_refer(lead) else "",
    "nps_url": referrals.nps_url,
}
SUBJECT_VARIABLES = set(VARIABLES) - {"unsubscribe_url", *LINK_VARIABLES}
# The product's own addresses: the only variables that may begin a link.
URL_VARIABLES = {"unsubscribe_url", *LINK_VARIABLES}

# `{{ name }}`; anything else between double braces is refused as an unknown variable.
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_LINK = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*)(["\'])(https?://[^"\']+)\2', re.IGNORECASE)
# A variable at the start of a link's address, where a lead's "javascript:…" would become the link.
_LINK_START = re.compile(
    r"""\b(?:href|src|action|formaction|background|poster|cite)\s*=\s*["']?\s*\{\{\s*([^{}]*?)\s*\}\}""",
    re.IGNORECASE,
)
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def variables_used(text: str) -> set[str]:
    return set(_VARIABLE.findall(text))


def unknown_variables(text: str, *, allowed: set[str] | None = None) -> list[str]:
    allowed = set(VARIABLES) if allowed is None else allowed
    return sorted(variables_used(text) - allowed)


def variables_refusal(text: str, *, allowed: set[str] | None = None) -> str | None:
    """The message for a text that uses variables that do not exist, or begins a link with a
    lead's text; None when all is well."""
    unknown = unknown_variables(text, allowed=allowed)
    if not unknown:
        return _link_start_refusal(text)
    names = ", ".join("{{ %s }}" % name for name in unknown)  # noqa: UP031 -- braces in the text
    known = ", ".join(sorted(allowed if allowed is not None else VARIABLES))
    return f"Unknown variable {names}. Use one of: {known}."


def _link_start_refusal(text: str) -> str | None:
    begun = sorted({name for name in _LINK_START.findall(text) if name not in URL_VARIABLES})
    if not begun:
        return None
    names = ", ".join("{{ %s }}" % name for name in begun)  # noqa: UP031 -- braces in the text
    return (
        f"{names} cannot begin a link: a lead's own text would become the address. Begin it with "
        f"https://… and put the variable after it (https://example.com/?c={{{{ company }}}}), or use one of: "
        f"{', '.join(sorted(URL_VARIABLES))}."
    )


def lead_values(lead: Lead, *, unsubscribe_url: str, used: Collection[str] = ()) -> dict[str, str]:
    """The values of the variables for this lead; of LINK_VARIABLES, only those in `used`."""
    values = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "full_name": f"{lead.first_name} {lead.last_name}".strip(),
        "email": lead.email,
        "company": lead.company,
        "title": lead.title,
        "unsubscribe_url": unsubscribe_url,
    }
    return values | {name: make(lead) for name, make in LINK_VARIABLES.items() if name in used}


def message_render(
    *, subject: str, body: str, values: dict[str, str], footer: str = "", link_wrap=None, pixel_url: str = ""
) -> Rendered:
    """The subject (one plain line), the HTML with CSS inlined, and a plain-text version."""
    line = " ".join(_fill(subject, values, escaped=False).split())
    html = _fill(body, values, escaped=True)
    if footer:
        html = _before_body_end(html, footer)
    if link_wrap is not None:
        html = _LINK.sub(lambda m: f"{m[1]}{m[2]}{escape(link_wrap(unescape(m[3])))}{m[2]}", html)
    if pixel_url:
        html = _before_body_end(html, f'<img src="{escape(pixel_url)}" width="1" height="1" alt="">')
    html = _INLINER.inline(html)
    return Rendered(subject=line, html=html, text=_plain(html))


def _fill(text: str, values: dict[str, str], *, escaped: bool) -> str:
    def value(match: re.Match) -> str:
        found = values.get(match[1], "")
        return escape(found) if escaped else found

    return _VARIABLE.sub(value, text)


def _before_body_end(html: str, addition: str) -> str:
    at = html.lower().rfind("</body>")
    return html + addition if at < 0 else html[:at] + addition + html[at:]


def _plain(html: str) -> str:
    body = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", "", html)
    body = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</h\d>|</li>|</tr>", "\n", body)
    text = unescape(strip_tags(body))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
