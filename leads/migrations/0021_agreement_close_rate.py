from django.conf import settings
from django.db import migrations, models


def close_per_from_mql_target(apps, schema_editor):
    """Until now the quota counted wins against the month's MQL target ("5 of 20"): keep that."""
    Agreement = apps.get_model("leads", "Agreement")
    for agreement in Agreement.objects.all():
        agreement.close_per = max(agreement.mql_target, agreement.close_quota, 1)
        agreement.save(update_fields=["close_per"])


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0020_stage_history_readers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='agreement',
            name='close_per',
            field=models.PositiveIntegerField(default=20, help_text='Out of how many handed-over leads.'),
        ),
        migrations.AlterField(
            model_name='agreement',
            name='close_quota',
            field=models.PositiveIntegerField(default=5, help_text='Leads sales wins of every `close_per` handed over.'),
        ),
        migrations.RunPython(close_per_from_mql_target, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='agreement',
            constraint=models.CheckConstraint(condition=models.Q(('close_per__gt', 0), ('close_quota__lte', models.F('close_per'))), name='agreement_close_rate'),
        ),
    ]
