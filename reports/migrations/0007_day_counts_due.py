"""The counts a deleted lead's funnel rows leave due, for the next rollups run to take out of the
day totals (reports.funnel.models.DayCountDue)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0006_stagemove_from_stage_moved_at'),
    ]

    operations = [
        migrations.CreateModel(
            name='DayCountDue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stage', models.CharField(max_length=20)),
                ('day', models.DateField()),
                ('furthest', models.SmallIntegerField(null=True)),
                ('leads', models.IntegerField()),
            ],
        ),
    ]
