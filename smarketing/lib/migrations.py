"""Indexes on big tables, built without blocking writes.

A plain AddIndex runs `CREATE INDEX` inside the migration's transaction and holds a SHARE lock
on the table while it builds: capture, scoring and the pages that write wait for it (1.4 s at
10.5M events, minutes at a billion). On PostgreSQL these operations build and drop CONCURRENTLY
instead: writes carry on, the build reads the table twice and waits for transactions older than
it. CONCURRENTLY cannot run inside a transaction, so a migration using them says
`atomic = False`. On SQLite (the embedded default, a small database) they are plain AddIndex
and RemoveIndex, which is what Django's own `django.contrib.postgres.operations` versions
cannot do.

An interrupted concurrent build (a killed migrate, a unique index that met a duplicate) leaves
an INVALID index behind, which PostgreSQL keeps up to date but never reads: running the
migration again drops it and builds it anew. tests/smarketing/test_migrations.py fails when a
new migration adds an index to a big table any other way.

    from smarketing.lib.migrations import AddIndexConcurrently

    class Migration(migrations.Migration):
        atomic = False
        operations = [AddIndexConcurrently(model_name="event", index=models.Index(...))]
"""

from django.db import NotSupportedError, migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

INDEX_STATE = (
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = %s AND pg_table_is_visible(c.oid)"
)


def index_state(schema_editor: BaseDatabaseSchemaEditor, name: str) -> str:
    """ "valid", "invalid" (a concurrent build that stopped) or "missing", on PostgreSQL."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(INDEX_STATE, [name])
        row = cursor.fetchone()
    if row is None:
        return "missing"
    return "valid" if row[0] else "invalid"


def concurrent(schema_editor: BaseDatabaseSchemaEditor, operation: Operation) -> bool:
    """Whether to build CONCURRENTLY: on PostgreSQL, which refuses it inside a transaction."""
    if schema_editor.connection.vendor != "postgresql":
        return False
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(
            f"{type(operation).__name__} runs CONCURRENTLY, outside a transaction: set atomic = False on the migration."
        )
    return True


def build(
    schema_editor: BaseDatabaseSchemaEditor, model: type[models.Model], index: models.Index, operation: Operation
) -> None:
    if not concurrent(schema_editor, operation):
        schema_editor.add_index(model, index)
        return
    state = index_state(schema_editor, index.name)
    if state == "valid":  # a rerun after the build finished but the migration was not recorded
        return
    if state == "invalid":
        schema_editor.remove_index(model, index, concurrently=True)
    schema_editor.add_index(model, index, concurrently=True)


def drop(
    schema_editor: BaseDatabaseSchemaEditor, model: type[models.Model], index: models.Index, operation: Operation
) -> None:
    if concurrent(schema_editor, operation):
        schema_editor.remove_index(model, index, concurrently=True)  # DROP INDEX CONCURRENTLY IF EXISTS
    else:
        schema_editor.remove_index(model, index)


class AddIndexConcurrently(migrations.AddIndex):
    """AddIndex, built CONCURRENTLY on PostgreSQL (again if a build was interrupted)."""

    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name}, concurrently on PostgreSQL"

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            build(schema_editor, model, self.index, self)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            drop(schema_editor, model, self.index, self)


class RemoveIndexConcurrently(migrations.RemoveIndex):
    """RemoveIndex, dropped CONCURRENTLY on PostgreSQL (no lock that stops reads and writes)."""

    def describe(self) -> str:
        return f"Remove index {self.name} from {self.model_name}, concurrently on PostgreSQL"

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            drop(schema_editor, model, index, self)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            build(schema_editor, model, index, self)
