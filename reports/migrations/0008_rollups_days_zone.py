"""The zone the funnel's day totals were counted in: the next rollups run counts them again in
TIME_ZONE (an empty value is no zone), and again whenever TIME_ZONE changes."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0007_day_counts_due'),
    ]

    operations = [
        migrations.AddField(
            model_name='rollupstate',
            name='days_zone',
            field=models.CharField(blank=True, help_text='The TIME_ZONE the day totals were counted in.', max_length=64),
        ),
    ]
