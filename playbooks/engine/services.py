"""Playbooks saved, activated and paused; leads enrolled and removed by a person."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.models import Lead
from playbooks.engine import shape
from playbooks.engine.enrol import RUN_TASK, enrolments_exit, leads_enrol
from playbooks.lists.selectors import list_members
from playbooks.models import Enrollment, LeadList, Playbook
from smarketing.audit.services import config_changed, config_created, config_deleted, config_snapshot
from smarketing.lib.tasks import task_send_on_commit


def playbook_save(*, data: dict[str, Any], by: AbstractBaseUser | None, playbook: Playbook | None = None) -> Playbook:
    """Create or change a playbook; every refusal at once, keyed by field (`steps.1.template`).

    An active playbook may be changed: leads already in it go on from the step they are at (by
    position), so removing a step before them moves them along one.
    """
    cleaned, errors = shape.definition_cleaned(data, playbook)
    if errors:
        raise ValidationError(errors)
    playbook = playbook or Playbook(created_by=by)
    before = config_snapshot(playbook) if playbook.pk else None
    for name, value in cleaned.items():
        setattr(playbook, name, value)
    playbook.promotional = shape.sends_promotional(playbook.steps)
    playbook.updated_at = timezone.now()
    try:
        with transaction.atomic():
            playbook.save()
            if before is None:
                config_created(playbook, by=by)
            else:
                config_changed(playbook, by=by, before=before)
    except IntegrityError as clash:
        raise ValidationError({"name": ["A playbook with this name exists."]}) from clash
    return playbook


def playbook_activate(*, playbook: Playbook, by: AbstractBaseUser | None = None) -> Playbook:
    """Start taking leads (what happens from now on enrols them) and running those inside."""
    if not playbook.steps:
        raise ValidationError({"steps": ["Add at least one step before activating."]})
    if playbook.status != Playbook.Status.ACTIVE:
        before = config_snapshot(playbook)
        playbook.status = Playbook.Status.ACTIVE
        playbook.activated_at = timezone.now()
        with transaction.atomic():
            playbook.save(update_fields=["status", "activated_at", "updated_at"])
            config_changed(playbook, by=by, before=before)
        task_send_on_commit(RUN_TASK)
    return playbook


def playbook_pause(*, playbook: Playbook, by: AbstractBaseUser | None = None) -> Playbook:
    """Stop: nobody enters and nothing runs (no email leaves) until it is activated again;
    leads inside keep their place."""
    if playbook.status == Playbook.Status.ACTIVE:
        before = config_snapshot(playbook)
        playbook.status = Playbook.Status.PAUSED
        with transaction.atomic():
            playbook.save(update_fields=["status", "updated_at"])
            config_changed(playbook, by=by, before=before)
    return playbook


def playbook_delete(*, playbook: Playbook, by: AbstractBaseUser | None = None) -> None:
    if playbook.status == Playbook.Status.ACTIVE:
        raise ValidationError({"status": ["Pause the playbook before deleting it."]})
    with transaction.atomic():
        config_deleted(playbook, by=by)
        playbook.delete()


def lead_enrol(*, playbook: Playbook, lead: Lead, by: AbstractBaseUser) -> bool:
    """Put one lead in by hand; False when the playbook's rules keep it out (already inside,
    or not allowed back)."""
    _must_take_leads(playbook)
    cause = f"manual:{lead.pk}:{by.pk}:{timezone.now():%Y%m%d%H%M%S%f}"
    return leads_enrol(playbook=playbook, causes=[(lead.pk, cause)]) == 1


def list_enrol(*, playbook: Playbook, lead_list: LeadList, by: AbstractBaseUser) -> int:
    """Put every member of a list (or every lead a segment matches now) in by hand."""
    _must_take_leads(playbook)
    stamp = f"{by.pk}:{timezone.now():%Y%m%d%H%M%S%f}"
    ids = list_members(lead_list).values_list("pk", flat=True).iterator(chunk_size=5_000)
    return leads_enrol(playbook=playbook, causes=((i, f"manual:{i}:{stamp}") for i in ids))


def enrolment_remove(*, enrolment: Enrollment, by: AbstractBaseUser) -> bool:
    return enrolments_exit(ids=[enrolment.pk], reason=f"removed by {by.get_username()}") == 1


def _must_take_leads(playbook: Playbook) -> None:
    if playbook.status != Playbook.Status.ACTIVE:
        raise ValidationError({"playbook": ["Activate the playbook before enrolling leads."]})
