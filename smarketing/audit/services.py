"""Recording configuration changes: one row per change, written in the transaction that makes it.

The services that change configuration call these functions themselves, rather than model
signals recording on their own, because:
1. set-based writes (reordering the assignment rules, retiring the active definition when
   another is activated, taking a rep out of a team) are UPDATEs, which send no signal;
2. the service knows who acts (its `by`); a signal would need the actor smuggled in through a
   request-scoped global, which background jobs and the demo do not have;
3. the service holds the row as it was before the change, so an entry costs one INSERT,
   where a pre_save signal would read the row again on every save.
The Django admin records through `AuditedAdmin` (smarketing.audit.admin), which knows the
request's user. Nothing here runs on paths that change no configuration.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from smarketing.audit.models import MODEL_KINDS, ConfigChange, ConfigKind

Source = ConfigChange.Source
Action = ConfigChange.Action

# Moments the row stamps itself (created_at, updated_at, activated_at…) are left out: the
# entry's own time says when. So are fields nobody sets by hand.
IGNORED_FIELDS = {"created_by", "last_assigned_at", "promotional"}


def config_kind(model: type[models.Model] | models.Model) -> ConfigKind:
    return MODEL_KINDS[model._meta.label]


def config_snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's audited fields as JSON; a related object as {"id", "label"} and a
    many-to-many field as a list of them (read when the object does not hold them yet: these
    are configuration changes, made a few times a day)."""
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or field.name in IGNORED_FIELDS or isinstance(field, models.DateTimeField):
            continue
        if field.is_relation:
            values[field.name] = _related(obj, field)
        else:
            values[field.name] = _json(field.value_from_object(obj))
    for field in obj._meta.many_to_many:
        if obj.pk is not None:
            items = sorted(getattr(obj, field.name).all(), key=lambda item: item.pk)
            values[field.name] = [{"id": item.pk, "label": str(item)} for item in items]
    return values


def config_created(obj: models.Model, *, by: Any, source: str = Source.APP) -> ConfigChange:
    """Record a new object, every field in `after`. Call it once the object is saved."""
    return _record(obj, by=by, action=Action.CREATED, before={}, after=config_snapshot(obj), source=source)


def config_changed(
    obj: models.Model, *, by: Any, before: dict[str, Any], source: str = Source.APP
) -> ConfigChange | None:
    """Record the fields that differ from `before` (a snapshot taken before the change); a save
    that changed nothing records nothing."""
    after = config_snapshot(obj)
    changed = config_fields_changed(obj, before, after)
    if not changed:
        return None
    before = {name: before.get(name) for name in changed}
    after = {name: after.get(name) for name in changed}
    return _record(obj, by=by, action=Action.CHANGED, before=before, after=after, source=source)


def config_deleted(obj: models.Model, *, by: Any, source: str = Source.APP) -> ConfigChange:
    """Record a deletion, every field in `before`. Call it before deleting, in the same transaction."""
    return _record(obj, by=by, action=Action.DELETED, before=config_snapshot(obj), after={}, source=source)


def config_changes_record(
    model: type[models.Model],
    rows: Iterable[tuple[int, str, dict[str, Any], dict[str, Any]]],
    *,
    by: Any,
    action: str = Action.CHANGED,
    source: str = Source.APP,
) -> list[ConfigChange]:
    """Record a set-based write: (object id, label, before, after) per object it changed, in
    one INSERT."""
    kind = config_kind(model)
    entries = [
        ConfigChange(
            **_actor(by),
            source=source,
            action=action,
            kind=kind,
            object_id=pk,
            object_label=label[:200],
            before=_json(before),
            after=_json(after),
        )
        for pk, label, before, after in rows
    ]
    return ConfigChange.objects.bulk_create(entries) if entries else []


def config_fields_changed(obj: models.Model, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields whose values differ; related objects compare by id, whatever their label."""
    related = {field.name for field in obj._meta.get_fields() if field.is_relation}

    def comparable(name: str, value: Any) -> Any:
        if name not in related or value is None:
            return value
        return [item["id"] for item in value] if isinstance(value, list) else value["id"]

    names = dict.fromkeys([*after, *before])
    return [name for name in names if comparable(name, before.get(name)) != comparable(name, after.get(name))]


def _record(obj: models.Model, *, by: Any, action: str, before: dict, after: dict, source: str) -> ConfigChange:
    return ConfigChange.objects.create(
        **_actor(by),
        source=source,
        action=action,
        kind=config_kind(obj),
        object_id=obj.pk,
        object_label=str(obj)[:200],
        before=before,
        after=after,
    )


def _actor(by: Any) -> dict[str, Any]:
    if by is None or getattr(by, "pk", None) is None:
        return {"actor": None, "actor_name": ""}
    return {"actor": by, "actor_name": by.get_username()}


def _related(obj: models.Model, field: models.Field) -> dict[str, Any] | None:
    pk = getattr(obj, field.attname)
    if pk is None:
        return None
    return {"id": pk, "label": str(getattr(obj, field.name))}


def _json(value: Any) -> Any:
    """A JSON copy: dates and decimals as text, and a JSON field's value detached from the
    object, so a later change in place does not reach the snapshot."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
