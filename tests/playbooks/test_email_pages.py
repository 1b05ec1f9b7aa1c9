"""Marketing's email pages: templates (list, create, edit, preview, test send) and the outbox
(list, one message, sending again), by role."""

import html
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from playbooks.email import services
from playbooks.models import EmailTemplate, OutboundEmail, TemplateKind
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

Status = OutboundEmail.Status
TEMPLATES = reverse("playbooks:email-templates")
NEW = reverse("playbooks:email-template-new")
OUTBOX = reverse("playbooks:outbox")
KEPT_IN_OUTBOX = "playbooks.email.backends.KeptInOutbox"
BANNER = "No mail server is set (EMAIL_BACKEND): messages are kept here and not delivered."


def make_template(name: str = "Welcome", **overrides) -> EmailTemplate:
    values = {
        "kind": TemplateKind.PROMOTIONAL,
        "subject": "Hello {{ first_name }}",
        "body": '<p>Hi {{ first_name }}, read <a href="https://example.com/guide">the guide</a>.</p>',
        **overrides,
    }
    return EmailTemplate.objects.create(name=name, **values)


def make_email(lead=None, **overrides) -> OutboundEmail:
    lead = lead or LeadFactory()
    values = {
        "kind": TemplateKind.PROMOTIONAL,
        "to_email": lead.email,
        "subject": "Spring news",
        "html": "<p>Spring</p>",
        "text": "Spring",
        "status": Status.SENT,
        **overrides,
    }
    return OutboundEmail.objects.create(lead=lead, **values)


def edit_url(template: EmailTemplate) -> str:
    return reverse("playbooks:email-template", args=[template.pk])


def preview_url(template: EmailTemplate) -> str:
    return reverse("playbooks:email-template-preview", args=[template.pk])


def send_url(template: EmailTemplate) -> str:
    return reverse("playbooks:email-template-test", args=[template.pk])


def detail_url(email: OutboundEmail) -> str:
    return reverse("playbooks:outbox-email", args=[email.pk])


def frame_url(email: OutboundEmail) -> str:
    return reverse("playbooks:outbox-email-html", args=[email.pk])


def retry_url(email: OutboundEmail) -> str:
    return reverse("playbooks:outbox-retry", args=[email.pk])


def template_data(**overrides) -> dict:
    return {
        "name": "Spring webinar",
        "kind": TemplateKind.PROMOTIONAL,
        "subject": "Join us, {{ first_name }}",
        "body": "<p>Dear {{ full_name }},</p>\n<p>See you there.</p>",
        **overrides,
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Who may see the pages --------------------------------------------------------------


def page_urls() -> list[str]:
    template = make_template()
    LeadFactory()
    email = make_email()
    frames = [reverse("playbooks:email-template-preview-html", args=[template.pk]), frame_url(email)]
    return [TEMPLATES, NEW, edit_url(template), preview_url(template), OUTBOX, detail_url(email), *frames]


@pytest.mark.parametrize("client_name", ["marketer_client", "manager_client"])
def test_marketing_and_managers_open_every_page(request, client_name):
    client = request.getfixturevalue(client_name)
    for url in page_urls():
        assert client.get(url).status_code == 200, url


def test_sales_is_refused_every_page(rep_client):
    for url in page_urls():
        assert rep_client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in page_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_sales_cannot_create_test_send_or_retry(rep_client, client, rep):
    template = make_template()
    failed = make_email(status=Status.FAILED, reason="send_error")
    rep.email = "rep@example.com"
    rep.save()
    for anyone in (rep_client, client):
        assert anyone.post(NEW, template_data()).status_code in (302, 403)
        assert anyone.post(send_url(template)).status_code in (302, 403)
        assert anyone.post(retry_url(failed)).status_code in (302, 403)
    assert rep_client.post(send_url(template)).status_code == 403
    assert rep_client.post(retry_url(failed)).status_code == 403
    assert client.post(retry_url(failed))["Location"].startswith(reverse("login"))
    assert EmailTemplate.objects.count() == 1
    assert OutboundEmail.objects.count() == 1
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_test_send_and_retry_take_only_posts(marketer_client):
    template = make_template()
    failed = make_email(status=Status.FAILED)
    assert marketer_client.get(send_url(template)).status_code == 405
    assert marketer_client.get(retry_url(failed)).status_code == 405


def test_email_is_in_the_menu_of_marketing_and_managers_only(marketer_client, manager_client, rep_client):
    def labels(client: Client) -> list[str]:
        return [item["label"] for item in client.get(reverse("home")).context["nav_items"]]

    for client in (marketer_client, manager_client):
        menu = labels(client)
        assert menu[menu.index("Campaigns") + 1 : menu.index("Campaigns") + 3] == ["Playbooks", "Email"]
    assert "Email" not in labels(rep_client) and "Playbooks" not in labels(rep_client)
    items = marketer_client.get(OUTBOX).context["nav_items"]
    assert [item["label"] for item in items if item["active"]] == []  # the outbox is reached from Email
    items = marketer_client.get(TEMPLATES).context["nav_items"]
    assert [item["label"] for item in items if item["active"]] == ["Email"]


# --- Template list ----------------------------------------------------------------------


def test_the_template_list_searches_by_name_and_filters_by_kind(marketer_client):
    make_template("Spring welcome")
    make_template("Spring receipt", kind=TemplateKind.TRANSACTIONAL)
    make_template("Autumn welcome")

    def names(**query) -> list[str]:
        response = marketer_client.get(TEMPLATES, query)
        assert response.status_code == 200
        return [template.name for template in response.context["page"].object_list]

    assert names() == ["Autumn welcome", "Spring receipt", "Spring welcome"]
    assert names(q="spring") == ["Spring receipt", "Spring welcome"]
    assert names(q="spring", kind="transactional") == ["Spring receipt"]
    assert "No template matches these filters" in marketer_client.get(TEMPLATES, {"q": "winter"}).content.decode()


def test_the_template_list_pages_by_25(marketer_client):
    for n in range(30):
        make_template(f"Template {n:02}")
    response = marketer_client.get(TEMPLATES, {"page": 2})
    assert [t.name for t in response.context["page"].object_list] == [f"Template {n}" for n in range(25, 30)]


def test_an_empty_template_list_offers_a_new_template(marketer_client):
    page = marketer_client.get(TEMPLATES).content.decode()
    assert "No email templates yet" in page
    assert f'href="{NEW}">New template</a>' in page
    assert f'href="{OUTBOX}"' in page


def test_a_bad_kind_filter_is_a_400_that_says_why(marketer_client):
    response = marketer_client.get(TEMPLATES, {"kind": "spam"})
    assert response.status_code == 400
    assert "Kind: Select a valid choice." in response.content.decode()


# --- Create and edit --------------------------------------------------------------------


def test_a_template_is_created_and_its_page_opens(marketer_client, marketer):
    response = marketer_client.post(NEW, template_data(), follow=True)
    template = EmailTemplate.objects.get()
    assert response.redirect_chain == [(edit_url(template), 302)]
    assert (template.name, template.kind) == ("Spring webinar", "promotional")
    assert template.subject == "Join us, {{ first_name }}"
    assert template.body == template_data()["body"]
    assert template.created_by == marketer
    assert messages_of(response)[0].startswith("Template “Spring webinar” created.")
    assert f'href="{preview_url(template)}"' in response.content.decode()


def test_an_unknown_variable_is_a_400_on_its_field_and_nothing_is_saved(marketer_client):
    response = marketer_client.post(NEW, template_data(body="<p>Hi {{ nope }}</p>"))
    assert response.status_code == 400
    assert EmailTemplate.objects.count() == 0
    errors = response.context["form"].errors
    assert errors["body"] == [
        "Unknown variable {{ nope }}. Use one of: company, email, first_name, full_name, last_name, nps_url, "
        "referral_url, title, unsubscribe_url."
    ]
    page = response.content.decode()
    assert "The template was not saved" in page
    assert html.escape("Unknown variable {{ nope }}.") in page


def test_every_refused_field_is_named_at_once(marketer_client):
    make_template("Spring webinar")
    response = marketer_client.post(NEW, template_data(name="SPRING WEBINAR", subject="{{ unsubscribe_url }}"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["A template with this name exists."]
    assert errors["subject"][0].startswith("Unknown variable {{ unsubscribe_url }}.")
    assert EmailTemplate.objects.count() == 1


def test_the_form_lists_the_variables_and_the_body_is_a_monospace_textarea(marketer_client):
    page = marketer_client.get(NEW).content.decode()
    for name in ("first_name", "company", "unsubscribe_url"):
        assert "{{ %s }}" % name in page  # noqa: UP031
    assert "The lead&#x27;s first name." in page
    assert '<textarea name="body"' in page and 'class="code"' in page
    assert '<label for="id_body">' in page


def test_a_template_is_edited(marketer_client):
    template = make_template()
    response = marketer_client.post(edit_url(template), template_data(name="Welcome back"), follow=True)
    assert response.redirect_chain == [(edit_url(template), 302)]
    template.refresh_from_db()
    assert template.name == "Welcome back"
    assert template.subject == "Join us, {{ first_name }}"
    assert messages_of(response) == ["Template “Welcome back” saved."]


def test_a_refused_edit_changes_nothing(marketer_client):
    template = make_template()
    response = marketer_client.post(edit_url(template), template_data(subject="Hi {{ nope }}"))
    assert response.status_code == 400
    template.refresh_from_db()
    assert template.name == "Welcome"
    assert template.subject == "Hello {{ first_name }}"


@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_a_form_sent_without_its_fields_is_a_400_naming_each_required_one(marketer_client, editing):
    """Not the blank form again as if nothing had been sent (200): each missing field says so."""
    template = make_template() if editing else None
    response = marketer_client.post(edit_url(template) if editing else NEW, {})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["Give the template a name."],
        "kind": ["Choose a kind."],
        "subject": ["Write a subject."],
        "body": ["Write the message."],
    }
    page = response.content.decode()
    assert "The template was not saved" in page
    assert '<ul class="errorlist" id="id_subject_error"><li>Write a subject.</li></ul>' in page
    stored = list(EmailTemplate.objects.values_list("name", "subject"))
    assert stored == ([("Welcome", "Hello {{ first_name }}")] if editing else [])


def test_an_unknown_template_is_404(marketer_client):
    assert marketer_client.get(reverse("playbooks:email-template", args=[999])).status_code == 404


# --- Preview ----------------------------------------------------------------------------


def test_the_preview_escapes_the_leads_values_inside_the_sandboxed_frame(marketer_client):
    template = make_template()
    lead = LeadFactory(first_name="<script>alert(1)</script>")
    response = marketer_client.get(preview_url(template), {"lead": lead.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    # The HTML is framed from a view of its own, sandboxed, for the same lead.
    frame_src = reverse("playbooks:email-template-preview-html", args=[template.pk]) + f"?lead={lead.pk}"
    frame = page.split("<iframe", 1)[1].split(">", 1)[0]
    assert " sandbox " in frame and f'src="{html.escape(frame_src)}"' in frame
    framed = marketer_client.get(frame_src).content.decode()
    assert "<script>alert(1)</script>" not in framed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in framed  # escaped once by the rendering
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;" in page  # the subject
    assert f'href="{reverse("leads:detail", args=[lead.pk])}"' in page


def test_the_preview_is_for_the_newest_lead_unless_one_is_chosen(marketer_client):
    template = make_template()
    older = LeadFactory(first_name="Olga", created_at=timezone.now() - timedelta(days=2))
    LeadFactory(first_name="Nina")
    assert marketer_client.get(preview_url(template)).context["rendered"].subject == "Hello Nina"
    by_email = marketer_client.get(preview_url(template), {"lead": f"  {older.email.upper()} "})
    assert by_email.context["rendered"].subject == "Hello Olga"
    assert "Hi Olga" in by_email.context["rendered"].text


def test_an_unknown_lead_is_a_400_with_the_form_and_a_message(marketer_client):
    template = make_template()
    LeadFactory()
    for ref in ("nobody@example.com", "999999"):
        response = marketer_client.get(preview_url(template), {"lead": ref})
        assert response.status_code == 400
        assert response.context["rendered"] is None
        assert f"No lead has the id or email address “{ref}”." in response.content.decode()
        assert 'name="lead"' in response.content.decode()


def test_without_leads_the_preview_says_so(marketer_client):
    response = marketer_client.get(preview_url(make_template()))
    assert response.status_code == 200
    assert "There are no leads yet" in response.content.decode()


# --- Test send --------------------------------------------------------------------------


def test_a_test_send_writes_a_message_to_the_user_and_sends_it_after_commit(
    marketer_client, marketer, django_capture_on_commit_callbacks, mailoutbox
):
    marketer.email = "mara@example.com"
    marketer.save()
    template = make_template()
    lead = LeadFactory(first_name="Nina")
    with django_capture_on_commit_callbacks() as callbacks:
        response = marketer_client.post(send_url(template), {"lead": lead.email}, follow=True)
    assert response.redirect_chain == [(edit_url(template), 302)]
    assert messages_of(response) == ["Test sent to mara@example.com; see it in the outbox."]
    email = OutboundEmail.objects.get()
    assert (email.to_email, email.lead, email.template, email.status) == (
        "mara@example.com",
        lead,
        template,
        Status.QUEUED,
    )
    assert email.subject == "[Test] Hello Nina"
    assert len(callbacks) == 1  # the worker's task, queued on commit
    # What the worker runs (no worker runs in these tests; pytest-django's mail backend is locmem).
    assert services.outbox_send(email_id=email.pk) == Status.SENT
    assert [(message.to, message.subject) for message in mailoutbox] == [(["mara@example.com"], "[Test] Hello Nina")]
    assert marketer_client.get(OUTBOX).context["page"].object_list[0].status == Status.SENT


def test_a_test_send_to_a_user_without_email_is_refused_with_the_reason(marketer_client):
    template = make_template()
    LeadFactory()
    response = marketer_client.post(send_url(template), follow=True)
    assert response.redirect_chain == [(edit_url(template), 302)]
    assert messages_of(response) == ["Your account has no email address: add one to receive test sends."]
    assert OutboundEmail.objects.count() == 0


def test_a_test_send_for_an_unknown_lead_sends_nothing(marketer_client, marketer):
    marketer.email = "mara@example.com"
    marketer.save()
    template = make_template()
    response = marketer_client.post(send_url(template), {"lead": "ghost@example.com"}, follow=True)
    assert messages_of(response) == ["No lead has the id or email address “ghost@example.com”: the test was not sent."]
    assert OutboundEmail.objects.count() == 0


# --- The outbox -------------------------------------------------------------------------


def test_the_outbox_lists_newest_first_and_filters_by_status_kind_and_recipient(marketer_client, settings):
    settings.EMAIL_BACKEND = KEPT_IN_OUTBOX  # the product's default (pytest-django's is locmem)
    now = timezone.now()
    sent = make_email(LeadFactory(email="ann@example.com"), created_at=now - timedelta(hours=3))
    refused = make_email(
        LeadFactory(email="bob@example.com"),
        status=Status.SUPPRESSED,
        reason="unsubscribed",
        html="",
        text="",
        created_at=now - timedelta(hours=2),
    )
    receipt = make_email(
        LeadFactory(email="ann.b@corp.example"), kind=TemplateKind.TRANSACTIONAL, created_at=now - timedelta(hours=1)
    )

    def rows(**query) -> list[OutboundEmail]:
        response = marketer_client.get(OUTBOX, query)
        assert response.status_code == 200
        return list(response.context["page"].object_list)

    assert rows() == [receipt, refused, sent]
    assert rows(status="suppressed") == [refused]
    assert rows(kind="transactional") == [receipt]
    assert rows(q="ANN") == [receipt, sent]
    assert rows(q="ann", status="sent", kind="promotional") == [sent]
    page = marketer_client.get(OUTBOX).content.decode()
    assert "The lead unsubscribed from marketing email." in page
    assert BANNER in page
    assert "No message matches these filters" in marketer_client.get(OUTBOX, {"q": "zed"}).content.decode()


def test_a_failed_row_shows_its_detail(marketer_client):
    make_email(status=Status.FAILED, reason="send_error", detail="550 mailbox unavailable")
    assert "550 mailbox unavailable" in marketer_client.get(OUTBOX).content.decode()


def test_the_banner_shows_only_when_mail_is_kept_in_the_outbox(marketer_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert BANNER not in marketer_client.get(OUTBOX).content.decode()


def test_a_bad_status_filter_is_a_400(marketer_client):
    response = marketer_client.get(OUTBOX, {"status": "lost"})
    assert response.status_code == 400
    assert "Status: Select a valid choice." in response.content.decode()


def test_the_outbox_pages_by_50_and_its_queries_do_not_grow_with_rows(marketer_client, django_assert_max_num_queries):
    template = make_template()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = marketer_client.get(OUTBOX)
        assert response.status_code == 200
        return len(captured)

    make_email(template=template)
    few = queries()
    for _ in range(60):
        make_email(template=template, opened_at=timezone.now())
    assert queries() == few
    with django_assert_max_num_queries(few) as captured:
        response = marketer_client.get(OUTBOX, {"page": 2})
    assert len(response.context["page"].object_list) == 11
    listed = next(q["sql"] for q in captured.captured_queries if "LIMIT" in q["sql"])
    assert '"html"' not in listed and '"text"' not in listed and '"body"' not in listed


def test_a_message_shows_its_headers_html_text_and_lead(marketer_client):
    lead = LeadFactory(first_name="Nina", last_name="Ng")
    email = make_email(lead, html='<p class="x">Hi "Nina"</p>', text="Hi Nina", message_id="<m1@example.com>")
    page = marketer_client.get(detail_url(email)).content.decode()
    assert f'<iframe class="email-frame" sandbox src="{frame_url(email)}"' in page
    assert marketer_client.get(frame_url(email)).content.decode() == '<p class="x">Hi "Nina"</p>'
    assert "Hi Nina</pre>" in page
    assert "&lt;m1@example.com&gt;" in page
    assert f'href="{reverse("leads:detail", args=[lead.pk])}"' in page
    assert "Send again" not in page


def test_a_message_is_shown_without_its_tracking(marketer_client, marketer):
    template = make_template()
    lead = LeadFactory(consent=True)
    email = services.email_queue(lead=lead, template=template, cause="test")
    assert "/e/o/" in email.html and "/e/c/" in email.html  # as sent: an open pixel, tracked links
    page = marketer_client.get(frame_url(email)).content.decode()
    assert "/e/o/" not in page and "/e/c/" not in page
    assert 'href="https://example.com/guide"' in page
    email.refresh_from_db()
    assert email.opened_at is None and email.clicked_at is None


def test_a_test_send_is_untracked_so_the_tester_cannot_act_on_the_lead(marketer):
    marketer.email = "mara@example.com"
    marketer.save()
    email = services.email_test_send(template=make_template(), lead=LeadFactory(), to=marketer)
    assert "/e/o/" not in email.html and "/e/c/" not in email.html and "/e/u/" not in email.html
    assert "https://example.com/guide" in email.html


# --- Sending again ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.FAILED, Status.UNKNOWN])
def test_a_failed_or_unknown_send_is_queued_again(marketer_client, django_capture_on_commit_callbacks, status):
    email = make_email(status=status, reason="send_error", detail="timed out", sent_at=None)
    assert "Send again" in marketer_client.get(detail_url(email)).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = marketer_client.post(retry_url(email), follow=True)
    assert response.redirect_chain == [(detail_url(email), 302)]
    assert messages_of(response) == [f"Queued again: the message to {email.to_email} is sent in a moment."]
    email.refresh_from_db()
    assert (email.status, email.reason, email.detail) == (Status.QUEUED, "", "")
    assert len(callbacks) == 1


@pytest.mark.parametrize("status", [Status.SENT, Status.SUPPRESSED, Status.QUEUED])
def test_only_a_failed_or_unknown_send_is_sent_again(marketer_client, django_capture_on_commit_callbacks, status):
    email = make_email(status=status, reason="unsubscribed" if status == Status.SUPPRESSED else "")
    assert "Send again" not in marketer_client.get(detail_url(email)).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = marketer_client.post(retry_url(email))
    assert response.status_code == 400
    assert "Only a failed or unknown send can be retried" in response.content.decode()
    email.refresh_from_db()
    assert email.status == status
    assert callbacks == []
