"""Trigram indexes for the lead search (name, email, company contain the words typed).

PostgreSQL only: `icontains` compiles to UPPER(column::text) LIKE UPPER(%s), which a GIN
trigram index on that same expression serves; SQLite has no such index and scans.
"""

from django.db import migrations

COLUMNS = ["email", "first_name", "last_name", "company"]


def create(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS lead_{column}_trgm ON leads_lead "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS lead_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_lead_sort_indexes")]
    operations = [migrations.RunPython(create, drop)]
