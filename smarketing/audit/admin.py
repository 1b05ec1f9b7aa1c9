"""The audit log in the admin (read only), and `AuditedAdmin`, which the apps' admin classes
for configuration use so that a change made in the admin is logged like one made in the app."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, router, transaction
from django.db.models import QuerySet
from django.db.models.deletion import Collector
from django.http import HttpRequest

from smarketing.audit.models import MODEL_KINDS, ConfigChange
from smarketing.audit.services import (
    config_changed,
    config_changes_record,
    config_created,
    config_deleted,
    config_snapshot,
)

ADMIN = ConfigChange.Source.ADMIN


@admin.register(ConfigChange)
class ConfigChangeAdmin(admin.ModelAdmin):
    """The log is written by the changes themselves; nobody adds, edits or deletes an entry."""

    list_display = ["at", "actor_name", "source", "action", "kind", "object_label"]
    list_filter = ["kind", "action", "source"]
    search_fields = ["object_label", "actor_name"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _stored(obj: models.Model) -> dict[str, Any]:
    """The object as the database holds it: the admin's form has already changed the instance."""
    related = [field.name for field in obj._meta.concrete_fields if field.is_relation]
    return config_snapshot(type(obj)._base_manager.select_related(*related).get(pk=obj.pk))


def _stored_many(model: type[models.Model], pks: list[Any]) -> dict[Any, models.Model]:
    related = [field.name for field in model._meta.concrete_fields if field.is_relation]
    return model._base_manager.select_related(*related).in_bulk(pks)


def _deletion_recorded(objs: list[models.Model], *, by: Any) -> None:
    """Record what deleting these takes with it, as Django's deletion will find it: a team's
    assignment rules are deleted too (CASCADE) and its reps lose their team (SET_NULL)."""
    if not objs:
        return
    collector = Collector(using=router.db_for_write(type(objs[0])))
    collector.collect(objs)
    doomed = [instance for model, found in collector.data.items() for instance in found]
    doomed += [instance for rows in collector.fast_deletes for instance in rows]
    for instance in doomed:
        if instance._meta.label in MODEL_KINDS:
            config_deleted(instance, by=by, source=ADMIN)
    for (field, value), batches in collector.field_updates.items():
        if field.model._meta.label not in MODEL_KINDS:
            continue
        after = {"id": value.pk, "label": str(value)} if isinstance(value, models.Model) else value
        rows = [
            (row.pk, str(row), {field.name: config_snapshot(row)[field.name]}, {field.name: after})
            for batch in batches
            for row in batch
        ]
        config_changes_record(field.model, rows, by=by, source=ADMIN)


class AuditedAdmin(admin.ModelAdmin):
    """Logs what the admin creates, changes and deletes, for its own model and for inlines of
    audited models (a team's reps). The entries carry the request's user and source "admin"."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, change: bool) -> None:
        before = _stored(obj) if change else None
        super().save_model(request, obj, form, change)
        obj._audit_before = before  # type: ignore[attr-defined]  # recorded once its many-to-many are saved

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before = getattr(obj, "_audit_before", None)
        if before is None:
            config_created(obj, by=request.user, source=ADMIN)
        else:
            config_changed(obj, by=request.user, before=before, source=ADMIN)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            _deletion_recorded([obj], by=request.user)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            _deletion_recorded(list(queryset), by=request.user)
            super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model._meta.label not in MODEL_KINDS:
            return super().save_formset(request, form, formset, change)
        stored = _stored_many(formset.model, [f.instance.pk for f in formset.initial_forms if f.instance.pk])
        with transaction.atomic():
            for deleted in formset.deleted_forms:  # as the database holds it, not as the form left it
                if deleted.instance.pk in stored:
                    config_deleted(stored[deleted.instance.pk], by=request.user, source=ADMIN)
            formset.save()
            for obj in formset.new_objects:
                config_created(obj, by=request.user, source=ADMIN)
            for obj, _fields in formset.changed_objects:
                config_changed(obj, by=request.user, before=config_snapshot(stored[obj.pk]), source=ADMIN)
        return None
