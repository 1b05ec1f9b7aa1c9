"""Move the scores off the lead row into LeadScore, a narrow table a rescore rewrites cheaply."""

import django.db.models.deletion
from django.db import migrations, models

COPY_SCORES = """
INSERT INTO leads_leadscore (lead_id, fit, engagement, score, persona_id, breakdown)
SELECT id, fit_score, engagement_score, score, persona_id, score_breakdown FROM leads_lead
"""


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0009_rollup_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="LeadScore",
            fields=[
                (
                    "lead",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="scoring",
                        serialize=False,
                        to="leads.lead",
                    ),
                ),
                ("fit", models.SmallIntegerField(default=0)),
                ("engagement", models.IntegerField(default=0)),
                ("score", models.IntegerField(default=0)),
                (
                    "persona",
                    models.ForeignKey(
                        blank=True,
                        help_text="Best match.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="scores",
                        to="leads.persona",
                    ),
                ),
                (
                    "breakdown",
                    models.JSONField(blank=True, default=dict, help_text="Each rule's contribution to the score."),
                ),
            ],
        ),
        migrations.RunSQL(COPY_SCORES, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="leadscore",
            index=models.Index(fields=["score"], name="lead_score_score"),
        ),
        migrations.RemoveIndex(model_name="lead", name="lead_score"),
        migrations.RemoveIndex(model_name="lead", name="lead_persona_created"),
        migrations.RemoveField(model_name="lead", name="engagement_score"),
        migrations.RemoveField(model_name="lead", name="fit_score"),
        migrations.RemoveField(model_name="lead", name="persona"),
        migrations.RemoveField(model_name="lead", name="score"),
        migrations.RemoveField(model_name="lead", name="score_breakdown"),
    ]
