"""The moves' index leads with the stage they left: a period's medians per stage read the index
in that order, without sorting the period's moves. Built and dropped concurrently, so the
rollups' writes carry on."""

from django.db import migrations, models

from smarketing.lib.migrations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reports", "0005_funnel_day_totals"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="stagemove",
            index=models.Index(
                fields=["from_stage", "moved_at"], include=("entered_at", "lead"), name="stagemove_from_stage_moved_at"
            ),
        ),
        RemoveIndexConcurrently(model_name="stagemove", name="stagemove_moved_at"),
    ]
