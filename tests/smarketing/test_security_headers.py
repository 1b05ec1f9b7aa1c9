"""The security headers: the Content-Security-Policy every page and the API get, and the two views
that need more (the API docs, a message's HTML in its frame); and no template carrying what the
policy would refuse. The browser's side of it is tests/browser/test_security_policy.py.
"""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from playbooks.models import OutboundEmail, TemplateKind
from tests.factories import LeadFactory

SITE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def policy(response) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: value[0] if value else "" for name, *value in directives}


def assert_site_headers(response) -> None:
    assert policy(response) == SITE_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_page_gets_the_sites_policy_and_headers(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_site_headers(response)
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_a_signed_in_page_gets_them_too(marketer_client: Client) -> None:
    response = marketer_client.get(reverse("leads:list"))
    assert response.status_code == 200
    assert_site_headers(response)


def test_the_api_gets_the_sites_policy_and_headers(marketer_client: Client, client: Client) -> None:
    assert_site_headers(marketer_client.get("/api/v1/leads/"))
    refused = client.get("/api/v1/leads/")
    assert refused.status_code in (401, 403)
    assert_site_headers(refused)


def test_the_api_docs_allow_swagger_uis_one_style_block_by_its_hash(client: Client, db: None) -> None:
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()
    blocks = re.findall(r"<style>(.*?)</style>", page, flags=re.DOTALL)
    assert len(blocks) == 1, "drf-spectacular's template changed: allow its styles by their new hash"
    digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
    assert policy(response) == {**SITE_POLICY, "style-src": f"'self' 'sha256-{digest}'"}
    assert "<script>" not in page  # Swagger UI's start-up script comes from its own URL
    script = client.get(reverse("api-docs"), {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def message(**values: object) -> OutboundEmail:
    defaults = {"kind": TemplateKind.PROMOTIONAL, "to_email": "nina@example.com", "subject": "Spring"}
    return OutboundEmail.objects.create(lead=LeadFactory(), **{**defaults, **values})


def test_a_messages_html_has_a_sandboxed_policy_of_its_own_and_only_our_pages_may_frame_it(
    marketer_client: Client,
) -> None:
    email = message(html='<p style="color: red">Hi</p>', status=OutboundEmail.Status.SENT)
    response = marketer_client.get(reverse("playbooks:outbox-email-html", args=[email.pk]))
    assert response.status_code == 200
    assert response.content.decode() == '<p style="color: red">Hi</p>'
    assert policy(response) == {
        "default-src": "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "'self' data: https:",
        "font-src": "'self' data: https:",
        "frame-ancestors": "'self'",
        "form-action": "'none'",
        "base-uri": "'none'",
        "sandbox": "",
    }
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    # Its page keeps the site's policy.
    assert_site_headers(marketer_client.get(reverse("playbooks:outbox-email", args=[email.pk])))


def test_a_message_without_html_has_no_frame(marketer_client: Client) -> None:
    email = message(html="", status=OutboundEmail.Status.SUPPRESSED)
    assert marketer_client.get(reverse("playbooks:outbox-email-html", args=[email.pk])).status_code == 404


def test_a_confidential_messages_frame_shows_nothing(manager_client: Client) -> None:
    # A password-reset link is for its recipient alone: its page shows the headers only, and the
    # frame's own URL gives nothing either.
    email = message(html='<a href="/password/reset/x/">Reset</a>', cause=OutboundEmail.CONFIDENTIAL + "reset")
    assert manager_client.get(reverse("playbooks:outbox-email-html", args=[email.pk])).status_code == 404


def test_sales_may_not_read_a_message_through_its_frame(rep_client: Client) -> None:
    email = message(html="<p>Hi</p>", status=OutboundEmail.Status.SENT)
    assert rep_client.get(reverse("playbooks:outbox-email-html", args=[email.pk])).status_code == 403


# --- Templates ------------------------------------------------------------------------------

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# What a browser would refuse under the policy, or run outside it: inline scripts (a <script>
# without src, JSON from json_script aside: it is data, never run), inline handlers, javascript:
# URLs, style attributes and <style> blocks.
REFUSED = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE),
    "an inline handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "a style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE),
    "a <style> block": re.compile(r"<style", re.IGNORECASE),
    "htmx's hx-on (an inline handler)": re.compile(r"\shx-on", re.IGNORECASE),
}
# Not pages of ours: emails' HTML (mail clients drop <style>, so they are styled inline; the outbox
# shows them in the sandboxed frame) and the form snippet people paste into their own sites.
NOT_OUR_PAGES = {
    "reports/pack/email.html",
    "accounts/email/password_reset.html",
    "leads/capture/forms/embed_snippet.html",
}
# Template comments are never sent.
COMMENTS = re.compile(r"{#.*?#}|{% comment %}.*?{% endcomment %}", re.DOTALL)


@pytest.mark.parametrize(
    "name", sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")), ids=str
)
def test_no_template_carries_what_the_policy_refuses(name: str) -> None:
    if name in NOT_OUR_PAGES:
        pytest.skip("not a page of ours")
    text = COMMENTS.sub("", (TEMPLATES / name).read_text())
    found = [what for what, pattern in REFUSED.items() if pattern.search(text)]
    assert not found, f"{name} has {', '.join(found)}: move it to static/ (a script, a stylesheet, a class)"
