"""The product's three roles as groups (smarketing.roles.roles_seed, which the test suite also
runs after a flush of the database)."""

from django.db import migrations

from smarketing.roles import roles_seed


def create_roles(apps, schema_editor):  # noqa: ANN001, ANN201
    roles_seed(apps)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
