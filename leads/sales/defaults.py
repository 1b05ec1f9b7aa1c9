"""The managed lists' defaults (reject, recycle, lost reasons) and the default pipeline.

Migration leads 0005 seeds them; managers edit them in the admin afterwards. The seed takes an
app registry, so the migration runs it on its historical models and the test suite on the live
ones, to put back what a flush of the database removed: keep to the fields the models had at
that migration.
"""

from django.apps.registry import Apps

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


def sales_defaults_seed(apps: Apps) -> None:
    """Add the default reasons and stages that are missing (by kind and code, by name); rows
    already there, edited or not, stay as they are. Two reads and two inserts at most."""
    Reason = apps.get_model("leads", "Reason")  # noqa: N806 (a model class)
    DealStage = apps.get_model("leads", "DealStage")  # noqa: N806
    reasons = set(Reason.objects.values_list("kind", "code"))
    Reason.objects.bulk_create(
        Reason(kind=kind, code=code, label=label, position=position, needs_text=code == "other")
        for kind, entries in REASONS.items()
        for position, (code, label) in enumerate(entries)
        if (kind, code) not in reasons
    )
    stages = set(DealStage.objects.values_list("name", flat=True))
    DealStage.objects.bulk_create(
        DealStage(name=name, position=position, outcome=outcome)
        for position, (name, outcome) in enumerate(STAGES)
        if name not in stages
    )
