import django.utils.timezone
import leads.models.core
from django.conf import settings
from django.db import migrations, models


def handoffs_read_so_far(apps, schema_editor):
    """Until now qualification handed leads off itself: the handoff reader starts after them."""
    StageChange = apps.get_model("leads", "StageChange")
    HistoryReader = apps.get_model("leads", "HistoryReader")
    end = StageChange.objects.order_by("-txid", "-id").values_list("txid", "id").first()
    if end:
        HistoryReader.objects.create(name="sales.handoffs", txid=end[0], last_id=end[1])


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0019_form_submissions_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoryReader',
            fields=[
                ('name', models.CharField(max_length=50, primary_key=True, serialize=False)),
                ('txid', models.BigIntegerField(default=0)),
                ('last_id', models.BigIntegerField(default=0)),
                ('read_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='stagechange',
            name='txid',
            field=models.BigIntegerField(db_default=leads.models.core.TransactionId(), editable=False),
        ),
        migrations.AlterField(
            model_name='assignmentrule',
            name='regions',
            field=models.JSONField(blank=True, default=list, help_text='e.g. ["EMEA", "LATAM"]; see leads/sales/assignment.py.'),
        ),
        migrations.AddIndex(
            model_name='stagechange',
            index=models.Index(fields=['txid', 'id'], name='stagechange_follow'),
        ),
        migrations.RunPython(handoffs_read_so_far, migrations.RunPython.noop),
    ]
