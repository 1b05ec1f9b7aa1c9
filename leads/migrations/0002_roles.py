"""The product's three roles as groups, with the model permissions each needs in the admin."""

from django.db import migrations

ROLES = ["Marketing", "Sales", "Manager"]


def create_roles(apps, schema_editor):  # noqa: ANN001, ANN201
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
