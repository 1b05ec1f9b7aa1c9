"""An index for the reports' definition version filter (the leads a version qualified), built
concurrently: the leads table is big and capture keeps writing to it."""

from django.db import migrations, models

from smarketing.lib.migrations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0029_job_sends"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("qualified_version__isnull", False)),
                fields=["qualified_version", "-created_at", "-id"],
                name="lead_version_created",
            ),
        ),
    ]
