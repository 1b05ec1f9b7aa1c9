"""The funnel's rollups (reports.funnel.models). They start empty: the rollups are marked
unbuilt, so the next run of `reports.rollups_update` (beat, every 15 s) rebuilds them all, the
ROI's with them, from the leads and their history (seconds at a million leads)."""

import django.db.models.deletion
from django.db import migrations, models


def rebuild_on_next_run(apps, schema_editor):
    apps.get_model("reports", "RollupState").objects.update(built_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0026_lead_segment_attributes_index"),
        ("reports", "0003_milestone_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="StageEntry",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "lead", "stage", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("stage", models.CharField(max_length=20)),
                ("at", models.DateTimeField()),
                (
                    "furthest",
                    models.SmallIntegerField(
                        help_text="On the creation row: the furthest stage's place in FUNNEL (-1: none of it).",
                        null=True,
                    ),
                ),
                (
                    "lead",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="leads.lead",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["stage", "at"], include=("furthest", "lead"), name="stageentry_stage_at")
                ],
            },
        ),
        migrations.CreateModel(
            name="StageMove",
            fields=[
                ("change_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("from_stage", models.CharField(max_length=20)),
                ("moved_at", models.DateTimeField()),
                ("entered_at", models.DateTimeField()),
                (
                    "lead",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="leads.lead",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["moved_at"], include=("from_stage", "entered_at", "lead"), name="stagemove_moved_at"
                    )
                ],
            },
        ),
        migrations.RunPython(rebuild_on_next_run, migrations.RunPython.noop),
    ]
