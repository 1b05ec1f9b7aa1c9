"""Who the demo's people are: names, companies, titles and countries, drawn from a seeded
random generator so a seed always gives the same people."""

import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from faker import Faker

from leads.demo.scoring import PERSONAS
from leads.models import Lead, Persona
from leads.scoring.services import persona_fit

# People behind the demo logins; any other username gets a Faker name.
USER_NAMES = {
    "admin": ("Alex", "Morgan"),
    "marketer": ("Maya", "Lindqvist"),
    "rep": ("Diego", "Alvarez"),
    "manager": ("Priya", "Raman"),
    "rep2": ("Samuel", "Okafor"),
    "rep3": ("Hannah", "Becker"),
    "rep4": ("Tom", "Whitfield"),
}


# country, Faker locale (names sound like the country), weight
COUNTRIES = [
    ("US", "en_US", 34),
    ("GB", "en_GB", 12),
    ("DE", "de_DE", 10),
    ("FR", "fr_FR", 7),
    ("ES", "es_ES", 6),
    ("NL", "nl_NL", 5),
    ("SE", "sv_SE", 4),
    ("CA", "en_CA", 6),
    ("AU", "en_AU", 8),
    ("MX", "es_MX", 4),
    ("BR", "pt_BR", 4),
    ("IN", "en_IN", 6),
]


# Half the companies are in the industries the demo's personas look for.
TARGET_INDUSTRIES = ["Software", "SaaS", "Fintech"]


OTHER_INDUSTRIES = ["Financial services", "Healthcare", "Manufacturing", "Retail", "Education", "Media", "Logistics"]


COMPANY_SIZES = [
    ((2, 10), 14),
    ((11, 49), 24),
    ((50, 199), 25),
    ((200, 999), 18),
    ((1_000, 4_999), 11),
    ((5_000, 60_000), 8),
]


SENIOR_TITLES = [
    "VP of Marketing",
    "VP of Sales",
    "Chief Revenue Officer",
    "Chief Marketing Officer",
    "Head of Demand Generation",
    "Head of Sales",
    "Director of Marketing",
    "Director of Revenue Operations",
    "CEO",
    "Co-founder",
]


MID_TITLES = [
    "Marketing Manager",
    "Demand Generation Manager",
    "Marketing Operations Manager",
    "Sales Manager",
    "Revenue Operations Manager",
    "Growth Marketing Manager",
    "Product Marketing Manager",
    "Account Executive",
]


JUNIOR_TITLES = [
    "Marketing Coordinator",
    "Sales Development Representative",
    "Marketing Specialist",
    "Content Writer",
    "Business Development Representative",
    "Marketing Intern",
    "Consultant",
    "Freelancer",
    "Student",
]


PAGES = [
    "/",
    "/pricing/",
    "/product/scoring/",
    "/product/playbooks/",
    "/customers/",
    "/blog/mql-vs-sql/",
    "/blog/speed-to-lead/",
    "/blog/sales-marketing-sla/",
    "/integrations/",
    "/security/",
]


NEWSLETTER_SUBJECTS = [
    "Five ways sales and marketing disagree",
    "What counts as an MQL?",
    "Speed-to-lead in 2 charts",
    "The weekly meeting that fixes your funnel",
    "Scoring without the guesswork",
]


def rng_for(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 -- reproducible demo data, nothing secret


@dataclass
class Company:
    name: str
    domain: str
    country: str
    locale: str
    industry: str
    size: int


@dataclass
class Pools:
    """Names, companies and phones drawn once from Faker; leads then pick from them."""

    first_names: dict[str, list[str]]
    last_names: dict[str, list[str]]
    phones: dict[str, list[str]]
    companies: list[Company]
    personas: list[Persona]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits only, for email addresses and domains."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def pools_draw(*, seed: int, companies: int) -> Pools:
    first, last, phones = {}, {}, {}
    rng = rng_for(seed)
    company_list: list[Company] = []
    domains: set[str] = set()
    locales = [(country, locale) for country, locale, _ in COUNTRIES]
    country_weights = [weight for *_, weight in COUNTRIES]
    for index, (_, locale) in enumerate(locales):
        fake = Faker(locale)
        fake.seed_instance(seed + index)  # one stream per locale: en_CA must not repeat en_US
        first[locale] = [fake.first_name() for _ in range(150)]
        last[locale] = [fake.last_name() for _ in range(150)]
        phones[locale] = [fake.phone_number() for _ in range(50)]
    fakes = {locale: Faker(locale) for _, locale in locales}
    for index, fake in enumerate(fakes.values()):
        fake.seed_instance(seed + 1_000 + index)
    for _ in range(companies):
        country, locale = rng.choices(locales, weights=country_weights)[0]
        name = fakes[locale].company()
        words = [_ascii(word) for word in re.split(r"[\s,&-]+", name)]
        stem = "".join([word for word in words if word and word not in {"and", "inc", "llc", "ltd", "plc"}][:2])
        domain = f"{stem or 'company'}.example"
        while domain in domains:
            domain = f"{stem}{rng.randrange(2, 99)}.example"
        domains.add(domain)
        industry = rng.choice(TARGET_INDUSTRIES if rng.random() < 0.5 else OTHER_INDUSTRIES)
        low, high = rng.choices([size for size, _ in COMPANY_SIZES], weights=[w for _, w in COMPANY_SIZES])[0]
        company_list.append(Company(name, domain, country, locale, industry, rng.randint(low, high)))
    personas = [Persona(name=persona["name"], conditions=persona["conditions"]) for persona in PERSONAS]
    return Pools(first_names=first, last_names=last, phones=phones, companies=company_list, personas=personas)


def _title(rng: random.Random) -> str:
    pool = rng.choices([SENIOR_TITLES, MID_TITLES, JUNIOR_TITLES], weights=[3, 4, 3])[0]
    return rng.choice(pool)


def _fit(*, personas: list[Persona], title: str, company: Company) -> int:
    """The fit the product will give this profile: its best match among the demo's personas."""
    lead = Lead(title=title, industry=company.industry, company_size=company.size, country=company.country)
    return max(persona_fit(persona, lead) for persona in personas)


def person_draw(*, rng: random.Random, pools: Pools, emails: set[str]) -> tuple[dict[str, Any], int]:
    """Contact and firmographic fields for one person, and the fit the product will give them."""
    company = rng.choice(pools.companies)
    title = _title(rng)
    first = rng.choice(pools.first_names[company.locale])
    last = rng.choice(pools.last_names[company.locale])
    local = f"{_ascii(first) or 'contact'}.{_ascii(last) or 'lead'}"
    email = f"{local}@{company.domain}"
    while email in emails:  # namesakes at one company get a number, as mail admins do
        email = f"{local}{rng.randrange(2, 100)}@{company.domain}"
    emails.add(email)
    fields = {
        "email": email,
        "first_name": first,
        "last_name": last,
        "phone": rng.choice(pools.phones[company.locale]) if rng.random() < 0.6 else "",
        "company": company.name,
        "title": title,
        "industry": company.industry,
        "company_size": company.size,
        "country": company.country,
        "website": f"https://www.{company.domain}",
    }
    return fields, _fit(personas=pools.personas, title=title, company=company)
