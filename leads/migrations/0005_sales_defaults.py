"""The managed lists' defaults (reject, recycle, lost reasons) and the default pipeline.

Managers edit them in the admin afterwards; reverting removes only the rows added here.
"""

from django.db import migrations

REASONS = {
    "reject": [
        ("bad_fit", "Bad fit"),
        ("no_budget", "No budget"),
        ("no_authority", "No authority"),
        ("no_need", "No need"),
        ("wrong_contact", "Wrong contact"),
        ("duplicate", "Duplicate"),
        ("spam", "Spam"),
        ("other", "Other"),
    ],
    "recycle": [
        ("not_ready", "Not ready to buy yet"),
        ("no_response", "No response"),
        ("timing", "Timing: budget or project later"),
        ("needs_nurture", "Needs more nurturing"),
        ("other", "Other"),
    ],
    "lost": [
        ("price", "Price"),
        ("competitor", "Chose a competitor"),
        ("no_decision", "No decision"),
        ("timing", "Timing"),
        ("no_budget", "No budget"),
        ("product_fit", "Missing features"),
        ("went_dark", "Went dark"),
        ("other", "Other"),
    ],
}
STAGES = [
    ("Discovery", "open"),
    ("Demo", "open"),
    ("Proposal", "open"),
    ("Negotiation", "open"),
    ("Won", "won"),
    ("Lost", "lost"),
]


def seed(apps, schema_editor):
    Reason = apps.get_model("leads", "Reason")
    DealStage = apps.get_model("leads", "DealStage")
    for kind, entries in REASONS.items():
        for position, (code, label) in enumerate(entries):
            Reason.objects.get_or_create(
                kind=kind, code=code, defaults={"label": label, "position": position, "needs_text": code == "other"}
            )
    for position, (name, outcome) in enumerate(STAGES):
        DealStage.objects.get_or_create(name=name, defaults={"position": position, "outcome": outcome})


def unseed(apps, schema_editor):
    Reason = apps.get_model("leads", "Reason")
    DealStage = apps.get_model("leads", "DealStage")
    for kind, entries in REASONS.items():
        Reason.objects.filter(kind=kind, code__in=[code for code, _ in entries]).delete()
    DealStage.objects.filter(name__in=[name for name, _ in STAGES], deals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_sales")]

    operations = [migrations.RunPython(seed, unseed)]
