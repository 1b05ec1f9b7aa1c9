"""The (type, occurred_at) event index carries each event's lead, so a "did X within N days"
test over every lead (a segment's count, a backtest) reads the lead ids from the index alone
instead of fetching every matching event row from the table (90,000 heap pages for a
webinar-within-90-days segment at 10M events).

The new index serves whatever the old one did (the same leading columns): the event types the
rule builder suggests, the latest events of a type. It is built before the old one is dropped.

The events table is the largest: on PostgreSQL both steps run CONCURRENTLY, outside a
transaction, so capture keeps writing while the index builds. A build that was interrupted
leaves an invalid index behind: it is dropped and built again. SQLite has no CONCURRENTLY (nor
INCLUDE): there the index is a plain one on (type, occurred_at).
"""

from django.db import migrations, models

NEW = models.Index(fields=["type", "occurred_at"], name="event_type_time_lead", include=["lead"])
OLD = models.Index(fields=["type", "occurred_at"], name="event_type_time")


def _index_state(schema_editor, name: str) -> str:
    """The index as PostgreSQL has it: "valid", "invalid" (a concurrent build that stopped) or "missing"."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        return "missing"
    return "valid" if row[0] else "invalid"


def _swap(apps, schema_editor, *, build: models.Index, drop: models.Index) -> None:
    event = apps.get_model("leads", "Event")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(event, build)
        schema_editor.remove_index(event, drop)
        return
    state = _index_state(schema_editor, build.name)
    if state == "invalid":
        schema_editor.remove_index(event, build, concurrently=True)
    if state != "valid":
        schema_editor.add_index(event, build, concurrently=True)
    schema_editor.remove_index(event, drop, concurrently=True)  # DROP INDEX CONCURRENTLY IF EXISTS


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, build=NEW, drop=OLD)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, build=OLD, drop=NEW)


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("leads", "0023_assignment_log_note"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AddIndex(model_name="event", index=NEW),
                migrations.RemoveIndex(model_name="event", name="event_type_time"),
            ],
        ),
    ]
