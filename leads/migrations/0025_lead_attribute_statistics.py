"""Statistics on the expressions segments and rules compare a lead's text attributes through.

`leads.conditions.condition_sql` compares LOWER(COALESCE(column, '')), so matching ignores case
and an unknown value is ''. PostgreSQL keeps no statistics on such an expression unless told
to, and guesses: it took "country in ES/DE/FR and industry in Software/Healthcare" for about
150 leads of a million where 71,000 match, and paged that segment's members through a plan meant
for a handful (the first page 820 ms at p95; 10-17 ms with these). Expression statistics
(PostgreSQL 14+) give it the expression's most common values and their share, as it has for the
columns themselves.

Each expression is written as `condition_sql` writes it (without the table alias): PostgreSQL
uses a statistics object only for the same expression. ANALYZE fills them (a sample of the
table: a second or two at a million leads, reads and writes carry on); autovacuum keeps them
current after that. SQLite has no such statistics: nothing to do there.
"""

from django.db import migrations

# The text fields a condition may test (leads.models.LEAD_ATTRIBUTE_FIELDS but company_size),
# as their expressions' inner part. email_domain is the part of the email after the @.
EXPRESSIONS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "title": "title",
    "industry": "industry",
    "country": "country",
    "source": "source",
    "email_domain": "split_part(email, '@', 2)",
    "stage": "stage",
}


def _name(field: str) -> str:
    return f"lead_{field}_lower"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field, column in EXPRESSIONS.items():
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {_name(field)} ON (LOWER(COALESCE({column}, ''))) FROM leads_lead"
        )
    schema_editor.execute("ANALYZE leads_lead")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in EXPRESSIONS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {_name(field)}")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0024_event_type_time_covers_lead"),
    ]

    operations = [migrations.RunPython(create, drop)]
