"""Playbooks' part of a lead's data (leads.privacy): its lists, enrolments, emails, referrals and
suppressions in the lead's export, and on its erasure the copies of the person playbooks keep
(the addresses and bodies of its emails, the payloads of its webhooks) scrubbed, queued email and
running enrolments stopped. Registered when the app is ready (playbooks.apps)."""

from typing import Any

from django.utils import timezone

from leads.models import Lead
from leads.models.privacy import erased_placeholder
from playbooks.models import (
    Enrollment,
    ListMembership,
    OutboundEmail,
    Referral,
    Referrer,
    StepRun,
    Suppression,
    WebhookDelivery,
)

ERASED_TEXT = "(erased)"
ERASED_REASON = "erased"


def _person(user: Any) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None


class PlaybooksLeadData:
    def export(self, lead: Lead) -> dict[str, Any]:
        return {
            "lists": self._lists(lead),
            "enrollments": self._enrollments(lead),
            "emails": self._emails(lead),
            "referrals": self._referrals(lead),
            "suppressions": [
                {"reason": s.reason, "detail": s.detail, "created_at": s.created_at}
                for s in Suppression.objects.filter(email=lead.email)
            ],
        }

    def _lists(self, lead: Lead) -> list[dict[str, Any]]:
        rows = ListMembership.objects.filter(lead=lead).select_related("list", "added_by").order_by("added_at", "id")
        return [
            {"list": m.list.name, "source": m.source, "added_at": m.added_at, "added_by": _person(m.added_by)}
            for m in rows
        ]

    def _enrollments(self, lead: Lead) -> list[dict[str, Any]]:
        enrollments = list(Enrollment.objects.filter(lead=lead).select_related("playbook").order_by("entered_at", "id"))
        steps: dict[int, list[dict[str, Any]]] = {e.pk: [] for e in enrollments}
        for run in StepRun.objects.filter(enrollment__in=enrollments).order_by("ran_at", "id"):
            steps[run.enrollment_id].append(
                {"step": run.step, "ran_at": run.ran_at, "outcome": run.outcome, "detail": run.detail}
            )
        return [
            {
                "playbook": e.playbook.name,
                "status": e.status,
                "cause": e.cause,
                "entered_at": e.entered_at,
                "finished_at": e.finished_at,
                "exit_reason": e.exit_reason,
                "steps": steps[e.pk],
            }
            for e in enrollments
        ]

    def _emails(self, lead: Lead) -> list[dict[str, Any]]:
        emails = OutboundEmail.objects.filter(lead=lead).select_related("template").defer("html")
        names = ["to_email", "kind", "subject", "text", "status", "reason", "cause"]
        names += ["created_at", "sent_at", "opened_at", "clicked_at"]
        return [
            {name: getattr(email, name) for name in names}
            | {"template": email.template.name if email.template else None}
            for email in emails.order_by("created_at", "id")
        ]

    def _referrals(self, lead: Lead) -> dict[str, Any]:
        referrer = Referrer.objects.filter(lead=lead).first()
        given = Referral.objects.filter(referrer=referrer).order_by("created_at", "id") if referrer else []
        received = Referral.objects.filter(lead=lead).select_related("referrer").first()
        return {
            "code": referrer.code if referrer else None,
            "referred": [
                {"lead": r.lead_id, "status": r.status, "credit": r.credit, "created_at": r.created_at} for r in given
            ],
            "referred_by": (
                {"code": received.referrer.code, "status": received.status, "credit": received.credit}
                if received
                else None
            ),
        }

    def erase(self, lead: Lead, *, addresses: list[str]) -> dict[str, int]:
        """Stop what would still reach the person, and drop playbooks' copies of them. Sends,
        enrolments, list memberships and referral credit stay, for the reports."""
        now = timezone.now()
        emails = OutboundEmail.objects.filter(lead=lead)
        stopped = emails.filter(status=OutboundEmail.Status.QUEUED).update(
            status=OutboundEmail.Status.SUPPRESSED, reason=ERASED_REASON
        )
        scrubbed = emails.update(to_email=erased_placeholder(lead.pk), subject=ERASED_TEXT, html="", text="", detail="")
        enrollments = Enrollment.objects.filter(lead=lead)
        exited = enrollments.filter(status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.EXITED, exit_reason=ERASED_REASON, finished_at=now, due_at=None
        )
        webhooks = WebhookDelivery.objects.filter(enrollment__in=enrollments)
        webhooks.filter(status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.FAILED, last_error="The lead's data was erased."
        )
        # The erased address's hash refuses it from now on; the plain copy goes.
        suppressions, _ = Suppression.objects.filter(email__in=addresses).delete()
        return {
            "emails": scrubbed,
            "emails_stopped": stopped,
            "enrollments_exited": exited,
            "webhooks": webhooks.update(body="{}"),
            "suppressions": suppressions,
        }
