"""Rollups keyed by (lead, rule) alone: no serial id, no index on the rule, no foreign-key checks.

Django cannot migrate a table to a composite primary key in place, so the old table is
renamed aside, the new one created, the rows copied across and the old table dropped.
"""

import django.db.models.deletion
from django.db import migrations, models


def old_table_aside(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE leads_engagementrollup RENAME TO leads_engagementrollup_old")
        if schema_editor.connection.vendor == "postgresql":
            # Renaming a table keeps its index names; the new table's key wants this one.
            cursor.execute("ALTER INDEX leads_engagementrollup_pkey RENAME TO leads_engagementrollup_old_pkey")


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0014_score_row_keeps_created_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(old_table_aside)],
            state_operations=[migrations.DeleteModel(name="EngagementRollup")],
        ),
        migrations.CreateModel(
            name="EngagementRollup",
            fields=[
                ("pk", models.CompositePrimaryKey("lead", "rule", blank=True, editable=False, primary_key=True, serialize=False)),
                ("lead", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="leads.lead")),
                ("rule", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="leads.scoringrule")),
                ("value", models.FloatField(default=0)),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO leads_engagementrollup (lead_id, rule_id, value) "
            "SELECT lead_id, rule_id, value FROM leads_engagementrollup_old"
        ),
        migrations.RunSQL("DROP TABLE leads_engagementrollup_old"),
    ]
