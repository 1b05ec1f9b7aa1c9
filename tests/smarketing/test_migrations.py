"""Migrations never build an index on a big table inside their transaction.

A plain `CREATE INDEX` holds a lock that stops every write to its table until the build ends
(1.4 s at 10.5M events, minutes at a billion), so a new migration that adds an index to a big
table builds it CONCURRENTLY (smarketing.lib.migrations.AddIndexConcurrently, `atomic = False`).
The scan below reads every migration's operations, as Django will run them, and fails on one
that adds an index to a big table any other way. Migrations every live instance has run are
history: they are listed, with what they built inside their transaction, and not held to it.
On PostgreSQL, the operation is shown to let capture write while it builds, where a plain
AddIndex makes the same write wait.
"""

import inspect
import re
import threading
import time
from dataclasses import dataclass

import psycopg2
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db import OperationalError, connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from leads.models import Event
from smarketing.lib.migrations import AddIndexConcurrently, RemoveIndexConcurrently, index_state
from tests.factories import EventFactory, LeadFactory

# Tables that grow with the leads and their events: millions of rows on a live instance.
BIG_TABLES = {
    "leads.lead",
    "leads.event",  # touches are events with a campaign
    "leads.leadscore",
    "leads.engagementrollup",
    "leads.stagechange",  # the stage history
    "leads.handoff",
    "leads.assignmentlog",
    "leads.activity",
    "playbooks.listmembership",
    "playbooks.enrollment",
    "playbooks.steprun",
    "playbooks.outboundemail",
    "reports.leadmilestone",
    "reports.stageentry",
    "reports.stagemove",
    "reports.dealcredit",
}
# Each app's last migration that every live instance has already run.
HISTORY = {"leads": "0026", "playbooks": "0003", "reports": "0004"}
# What those built on big tables inside their transaction (README, "Upgrading a live instance").
HISTORY_BUILT_INSIDE_A_TRANSACTION = {
    "leads.0003_scoring_qualification_capture",
    "leads.0006_lead_sort_indexes",
    "leads.0007_lead_search_trigram",
    "leads.0008_leaner_indexes",
    "leads.0012_list_indexes_end_in_id",
    "leads.0013_score_index_ends_in_lead",
    "leads.0014_score_row_keeps_created_at",
    "leads.0016_score_row_created_index",
    "leads.0017_last_touch_sorts_through_score_row",
    "leads.0018_event_campaign_index_skips_none",
    "leads.0019_form_submissions_index",
    "leads.0020_stage_history_readers",
    "reports.0003_milestone_version",
}

CONCURRENT_OPERATIONS = (AddIndexConcurrently, RemoveIndexConcurrently, PostgresAddIndexConcurrently)
CREATE_INDEX = re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b(?!\s+CONCURRENTLY)", re.IGNORECASE)
CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b|concurrently=True")


@dataclass
class Scan:
    app_label: str
    migration: migrations.Migration
    problems: list[str]
    existing: set[tuple[str, str]]  # the models before this migration
    new_tables: set[str]  # created by this migration: empty, whatever their name

    def big(self, model_name: str) -> bool:
        name = model_name.lower()
        return f"{self.app_label}.{name}" in BIG_TABLES and name not in self.new_tables

    def refuse(self, operation: object, why: str) -> None:
        self.problems.append(f"{self.app_label}.{self.migration.name}: {type(operation).__name__} {why}")


def builds_an_index(field: models.Field) -> bool:
    return bool(field.db_index or field.unique) and not field.primary_key


def big_table_names() -> list[str]:
    return [apps.get_model(label)._meta.db_table for label in BIG_TABLES]


def scan_sql(scan: Scan, operation: object, text: str) -> None:
    if CONCURRENTLY.search(text) and scan.migration.atomic:
        scan.refuse(operation, "runs CONCURRENTLY in an atomic migration (set atomic = False)")
    for statement in text.split(";"):
        if CREATE_INDEX.search(statement) and any(re.search(rf"\b{t}\b", statement) for t in big_table_names()):
            scan.refuse(operation, "runs CREATE INDEX on a big table without CONCURRENTLY")
    if re.search(r"\.(add_index|create_model)\(", text) and not CONCURRENTLY.search(text):
        scan.refuse(operation, "builds an index through the schema editor without concurrently=True")


def scan_operation(scan: Scan, operation: object, state: ProjectState) -> None:
    """Record what `operation` would build on a big table inside the migration's transaction;
    `state` is the project as the operation finds it."""
    app = scan.app_label
    if isinstance(operation, CONCURRENT_OPERATIONS):
        if scan.migration.atomic:
            scan.refuse(operation, "runs CONCURRENTLY in an atomic migration (set atomic = False)")
    elif isinstance(operation, migrations.SeparateDatabaseAndState):
        inner = state.clone()
        for database_operation in operation.database_operations:
            scan_operation(scan, database_operation, inner)
            database_operation.state_forwards(app, inner)
    elif isinstance(operation, migrations.AddIndex) and scan.big(operation.model_name):
        scan.refuse(operation, f"builds {operation.index.name} on {operation.model_name} inside the transaction")
    elif isinstance(operation, migrations.AddConstraint) and scan.big(operation.model_name):
        if isinstance(operation.constraint, models.UniqueConstraint):
            scan.refuse(operation, f"builds a unique index on {operation.model_name} inside the transaction")
    elif isinstance(operation, migrations.AddField) and scan.big(operation.model_name):
        if builds_an_index(operation.field):
            scan.refuse(operation, f"indexes {operation.model_name}.{operation.name} inside the transaction")
    elif isinstance(operation, migrations.AlterField) and scan.big(operation.model_name):
        before = state.models[app, operation.model_name_lower].fields[operation.name]
        if builds_an_index(operation.field) and not builds_an_index(before):
            scan.refuse(operation, f"indexes {operation.model_name}.{operation.name} inside the transaction")
    elif isinstance(operation, migrations.AlterUniqueTogether | migrations.AlterIndexTogether):
        if scan.big(operation.name) and operation.option_value:
            scan.refuse(operation, f"builds an index on {operation.name} inside the transaction")
    elif isinstance(operation, migrations.CreateModel):
        if (app, operation.name_lower) not in scan.existing:
            scan.new_tables.add(operation.name_lower)
            return
        if not scan.big(operation.name):
            return
        indexed = [name for name, field in operation.fields if builds_an_index(field)]
        if indexed or operation.options.get("indexes") or operation.options.get("constraints"):
            scan.refuse(operation, f"creates the big table {operation.name} again with its indexes")
    elif isinstance(operation, migrations.RunSQL):
        statements = operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
        scan_sql(scan, operation, " ; ".join(str(s[0] if isinstance(s, list | tuple) else s) for s in statements))
    elif isinstance(operation, migrations.RunPython):
        scan_sql(scan, operation, inspect.getsource(operation.code))


def scan_migration(app_label: str, migration: migrations.Migration, state: ProjectState) -> list[str]:
    scan = Scan(app_label, migration, [], set(state.models), set())
    state = state.clone()
    for operation in migration.operations:
        scan_operation(scan, operation, state)
        operation.state_forwards(app_label, state)
    return scan.problems


def project_migrations(loader: MigrationLoader) -> list[tuple[str, str]]:
    """Every migration of the product's own apps (those in this repository, not in the venv)."""
    base = str(settings.BASE_DIR)
    ours = {c.label for c in apps.get_app_configs() if c.path.startswith(base) and ".venv" not in c.path}
    return sorted(key for key in loader.graph.nodes if key[0] in ours)


def scan_all(*, history: bool) -> dict[str, list[str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = {}
    for app_label, name in project_migrations(loader):
        if (name[:4] <= HISTORY.get(app_label, "")) != history:
            continue
        state = loader.project_state((app_label, name), at_end=False)
        if problems := scan_migration(app_label, loader.get_migration(app_label, name), state):
            found[f"{app_label}.{name}"] = problems
    return found


def test_no_new_migration_builds_an_index_on_a_big_table_inside_its_transaction() -> None:
    assert scan_all(history=False) == {}


def test_the_scan_finds_what_the_history_built_inside_its_transactions() -> None:
    # The scan is only as good as what it sees: it must see what the early migrations did.
    assert set(scan_all(history=True)) == HISTORY_BUILT_INSIDE_A_TRANSACTION


# --- The scan on migrations made for the test --------------------------------------------------


def a_migration(*operations: object, atomic: bool = True) -> migrations.Migration:
    migration = migrations.Migration("9999_test", "leads")
    migration.operations = list(operations)
    migration.atomic = atomic
    return migration


def current_state() -> ProjectState:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return loader.project_state()


EVENT_INDEX = models.Index(fields=["occurred_at", "type"], name="event_time_type_test")


@pytest.mark.parametrize(
    "operation",
    [
        migrations.AddIndex(model_name="event", index=EVENT_INDEX),
        migrations.AddConstraint(
            model_name="lead", constraint=models.UniqueConstraint(fields=["email", "company"], name="lead_test_unique")
        ),
        migrations.AddField(model_name="lead", name="region", field=models.CharField(max_length=20, db_index=True)),
        migrations.AddField(
            model_name="event",
            name="form",
            field=models.ForeignKey(null=True, on_delete=models.SET_NULL, to="leads.captureform"),
        ),
        migrations.AlterField(model_name="lead", name="company", field=models.CharField(max_length=200, db_index=True)),
        migrations.RunSQL("CREATE INDEX lead_title ON leads_lead (title)", migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("create index event_time on leads_event (occurred_at)")]
        ),
    ],
    ids=[
        "AddIndex",
        "unique constraint",
        "AddField db_index",
        "AddField foreign key",
        "AlterField",
        "RunSQL",
        "nested",
    ],
)
def test_the_scan_refuses_an_index_built_inside_the_transaction(operation: object) -> None:
    problems = scan_migration("leads", a_migration(operation), current_state())
    assert len(problems) == 1
    inner = operation.database_operations[0] if hasattr(operation, "database_operations") else operation
    assert problems[0].startswith(f"leads.9999_test: {type(inner).__name__} ")


def test_the_scan_accepts_concurrent_builds_outside_a_transaction_and_small_tables() -> None:
    state = current_state()
    concurrent = [
        AddIndexConcurrently(model_name="event", index=EVENT_INDEX),
        migrations.RunSQL("CREATE INDEX CONCURRENTLY lead_title ON leads_lead (title)"),
    ]
    assert scan_migration("leads", a_migration(*concurrent, atomic=False), state) == []
    small = migrations.AddIndex(model_name="campaign", index=models.Index(fields=["name"], name="campaign_test"))
    assert scan_migration("leads", a_migration(small), state) == []
    # CONCURRENTLY inside the migration's transaction fails on PostgreSQL: the scan says so first.
    problems = scan_migration("leads", a_migration(concurrent[0]), state)
    assert problems == [
        "leads.9999_test: AddIndexConcurrently runs CONCURRENTLY in an atomic migration (set atomic = False)"
    ]


def test_the_scan_refuses_a_big_table_created_again_with_its_indexes() -> None:
    recreate = migrations.CreateModel(
        name="EngagementRollup",
        fields=[("id", models.BigAutoField(primary_key=True)), ("lead_id", models.BigIntegerField(db_index=True))],
    )
    problems = scan_migration("leads", a_migration(recreate), current_state())
    assert problems == ["leads.9999_test: CreateModel creates the big table EngagementRollup again with its indexes"]
    # A table this migration creates is empty: its indexes cost nothing.
    new = migrations.CreateModel(name="Touch", fields=[("id", models.BigAutoField(primary_key=True))])
    index = migrations.AddIndex(model_name="touch", index=models.Index(fields=["id"], name="touch_test"))
    assert scan_migration("leads", a_migration(new, index), current_state()) == []


# --- The operation itself, on the database the suite runs on -----------------------------------


def apply(operation: object, state: ProjectState, *, backwards: bool = False) -> ProjectState:
    after = state.clone()
    operation.state_forwards("leads", after)
    with connection.schema_editor(atomic=False) as editor:
        if backwards:
            operation.database_backwards("leads", editor, after, state)
        else:
            operation.database_forwards("leads", editor, state, after)
    return after


def event_indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, Event._meta.db_table)


@pytest.mark.django_db(transaction=True)  # CONCURRENTLY runs outside a transaction
def test_add_index_concurrently_builds_and_drops_the_index_on_this_database() -> None:
    state = current_state()
    operation = AddIndexConcurrently(model_name="event", index=EVENT_INDEX)
    apply(operation, state)
    assert event_indexes()[EVENT_INDEX.name]["columns"] == ["occurred_at", "type"]
    apply(operation, state, backwards=True)
    assert EVENT_INDEX.name not in event_indexes()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="INVALID indexes are PostgreSQL's")
def test_a_build_that_was_interrupted_is_dropped_and_built_again() -> None:
    EventFactory.create_batch(2, type="page_viewed")
    with connection.cursor() as cursor, pytest.raises(Exception, match="could not create unique index"):
        # A concurrent unique build meets a duplicate and stops, leaving its index INVALID.
        cursor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {EVENT_INDEX.name} ON leads_event (type)")
    with connection.schema_editor(atomic=False) as editor:
        assert index_state(editor, EVENT_INDEX.name) == "invalid"
    state = current_state()
    operation = AddIndexConcurrently(model_name="event", index=EVENT_INDEX)
    apply(operation, state)
    with connection.schema_editor(atomic=False) as editor:
        assert index_state(editor, EVENT_INDEX.name) == "valid"
    assert event_indexes()[EVENT_INDEX.name]["columns"] == ["occurred_at", "type"]
    apply(operation, state, backwards=True)
    assert EVENT_INDEX.name not in event_indexes()


def waiting_index_builds() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'CREATE INDEX%%' AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="CONCURRENTLY is PostgreSQL's")
@pytest.mark.parametrize(
    ("operation", "writes_wait"),
    [
        (AddIndexConcurrently(model_name="event", index=EVENT_INDEX), False),
        (migrations.AddIndex(model_name="event", index=EVENT_INDEX), True),
    ],
    ids=["concurrently", "plain"],
)
def test_capture_writes_events_while_a_concurrent_build_runs_and_waits_behind_a_plain_one(
    operation: object, writes_wait: bool
) -> None:
    lead = LeadFactory()
    state = current_state()
    db = connection.settings_dict
    # An import in the middle of its batch: a transaction that has written to the events table.
    writing = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"] or None
    )
    writing.cursor().execute("LOCK TABLE leads_event IN ROW EXCLUSIVE MODE")  # what its INSERTs hold
    errors: list[BaseException] = []

    def build() -> None:
        try:
            apply(operation, state)
        except Exception as error:  # reported by the assertions below
            errors.append(error)
        finally:
            connection.close()

    builder = threading.Thread(target=build)
    builder.start()
    try:
        deadline = time.monotonic() + 30
        while not waiting_index_builds():  # the build waits for the writing transaction
            assert time.monotonic() < deadline, "the index build never started waiting"
            time.sleep(0.05)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            EventFactory(lead=lead)  # the next capture
            waited = False
        except OperationalError as error:
            assert "lock timeout" in str(error)
            waited = True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        writing.commit()
        writing.close()
        builder.join(timeout=60)
    assert errors == []
    assert waited is writes_wait
    assert event_indexes()[EVENT_INDEX.name]["columns"] == ["occurred_at", "type"]
    apply(operation, state, backwards=True)
