"""The seed's playbook, as a marketer would set it up: a newsletter list and its playbook, an
opportunities list, and conversion content the stage policy enrols new opportunities in."""

from dataclasses import dataclass

import pytest

from playbooks.email import services as email
from playbooks.engine import services
from playbooks.lists import services as lists
from playbooks.models import EmailTemplate, LeadList, Playbook, TemplateKind


@dataclass
class Seed:
    newsletter: EmailTemplate
    case_study: EmailTemplate
    newsletter_list: LeadList
    opportunities: LeadList
    nurture: Playbook
    conversion: Playbook


def template(name: str, kind: str, marketer) -> EmailTemplate:
    body = f"<p>Hi {{{{ first_name }}}}, this is {name}.</p><p><a href='https://example.com/{kind}'>Read</a></p>"
    return email.template_save(
        data={"name": name, "kind": kind, "subject": f"{name} for {{{{ first_name }}}}", "body": body}, by=marketer
    )


@pytest.fixture
def seed(marketer) -> Seed:
    newsletter = template("Monthly newsletter", TemplateKind.PROMOTIONAL, marketer)
    case_study = template("Customer case study", TemplateKind.CONVERSION, marketer)
    newsletter_list = lists.list_save(data={"name": "Newsletter", "kind": "static"}, by=marketer)
    opportunities = lists.list_save(data={"name": "Opportunities", "kind": "static"}, by=marketer)
    nurture = services.playbook_save(
        data={
            "name": "Newsletter nurture",
            "trigger": {"type": "list_joined", "list": newsletter_list.pk},
            "steps": [
                {"type": "email", "template": newsletter.pk},
                {"type": "wait", "days": 7},
                {"type": "email", "template": newsletter.pk},
            ],
            "reentry": "never",
        },
        by=marketer,
    )
    conversion = services.playbook_save(
        data={
            "name": "Conversion content",
            "trigger": {"type": "manual"},
            "steps": [{"type": "email", "template": case_study.pk}, {"type": "wait", "days": 3}],
            "exits": [{"type": "stage_reached", "stage": "customer"}],
        },
        by=marketer,
    )
    for playbook in (nurture, conversion):
        services.playbook_activate(playbook=playbook, by=marketer)
    return Seed(newsletter, case_study, newsletter_list, opportunities, nurture, conversion)
