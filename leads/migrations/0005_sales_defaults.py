"""The managed lists' defaults (reject, recycle, lost reasons) and the default pipeline
(leads.sales.defaults, which the test suite also runs after a flush of the database).

Managers edit them in the admin afterwards; reverting removes only the rows added here.
"""

from django.db import migrations

from leads.sales.defaults import REASONS, STAGES, sales_defaults_seed


def seed(apps, schema_editor):
    sales_defaults_seed(apps)


def unseed(apps, schema_editor):
    Reason = apps.get_model("leads", "Reason")
    DealStage = apps.get_model("leads", "DealStage")
    for kind, entries in REASONS.items():
        Reason.objects.filter(kind=kind, code__in=[code for code, _ in entries]).delete()
    DealStage.objects.filter(name__in=[name for name, _ in STAGES], deals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_sales")]

    operations = [migrations.RunPython(seed, unseed)]
