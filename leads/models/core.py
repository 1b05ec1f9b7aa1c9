"""Leads, their touchpoints (events), campaigns, stage history and background jobs."""

from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import IsNull
from django.utils import timezone


class Stage(models.TextChoices):
    """Lifecycle stages, in DESIGN.md's order (recycled and disqualified stand aside)."""

    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    RECYCLED = "recycled", "Recycled"
    DISQUALIFIED = "disqualified", "Disqualified"


# The forward path; automatic qualification only ever moves a lead further along it.


FUNNEL = [
    Stage.SUBSCRIBER,
    Stage.LEAD,
    Stage.MQL,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.CUSTOMER,
    Stage.EVANGELIST,
]


class Channel(models.TextChoices):
    SEO = "seo", "SEO"
    PAID_SEARCH = "paid_search", "Paid search"
    PAID_SOCIAL = "paid_social", "Paid social"
    SOCIAL = "social", "Organic social"
    EMAIL = "email", "Email"
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event"
    REFERRAL = "referral", "Referral"
    CONTENT = "content", "Content"
    PARTNER = "partner", "Partner"
    DIRECT = "direct", "Direct"
    OTHER = "other", "Other"


class Campaign(models.Model):
    # Unique ignoring case (Meta.constraints): "Spring webinar" and "spring webinar" are one campaign.
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices, db_index=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="Events carrying this utm_campaign are credited here."
    )
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="What may be spent in all; empty: no budget."
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="campaign_name_unique",
                violation_error_message="A campaign with this name already exists (names are compared ignoring case).",
            ),
            # Events and forms find their campaign by utm_campaign alone (leads.capture.ingest),
            # so two campaigns sharing one would split credit arbitrarily.
            models.UniqueConstraint(
                fields=["utm_campaign"],
                condition=~models.Q(utm_campaign=""),
                name="campaign_utm_campaign_unique",
                violation_error_message="Another campaign already has this utm_campaign.",
            ),
            models.CheckConstraint(condition=models.Q(budget__gte=0), name="campaign_budget_not_negative"),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
                violation_error_message="A campaign cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignCost(models.Model):
    """Money spent on a campaign on a day (one row per invoice, ad-spend day, sponsorship …)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="costs")
    incurred_on = models.DateField(db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-incurred_on"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="campaign_cost_not_negative")]

    def __str__(self) -> str:
        return f"{self.campaign} {self.incurred_on}: {self.amount}"


def normalize_email(email: str) -> str:
    """One lead per address: trimmed and case-folded."""
    return email.strip().casefold()


class Lead(models.Model):
    # Unique through Meta.constraints: a plain unique index, without the pattern-matching copy
    # PostgreSQL gets for `unique=True` on a text column (search goes through trigram indexes).
    email = models.EmailField(max_length=254, help_text="Stored normalized: trimmed, lower case.")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True, help_text="Employees.")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2 code.")
    website = models.CharField(max_length=200, blank=True)

    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    # Foreign keys led by a composite index below carry no index of their own (db_index=False).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    qualified_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="Definition version under which the lead last qualified."
    )

    consent = models.BooleanField(default=False, help_text="Agreed to receive marketing email.")
    consent_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    # First and last touch: the channel or utm_source, the campaign, and the raw UTM/referrer.
    source = models.CharField(max_length=100, blank=True, help_text="First-touch source.")
    first_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="first_touch_leads", db_index=False
    )
    first_touch = models.JSONField(default=dict, blank=True)
    # Last touch moves with nearly every event, so none of its columns is indexed here: the
    # update stays heap-only (HOT), leaving this row's many indexes alone. The list sorts by
    # the score row's copy of last_touch_at (LeadScore), and a campaign's deletion finds its
    # last-touch leads by a scan, which it can afford.
    last_source = models.CharField(max_length=100, blank=True)
    last_campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="last_touch_leads",
        db_index=False,
    )
    last_touch = models.JSONField(default=dict, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    stage_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # One per list filter, each ending in the whole default order (id breaking ties), so
            # a filtered first page is an index range scan whatever the newest leads hold.
            models.Index(fields=["stage", "-created_at", "-id"], name="lead_stage_created"),
            models.Index(fields=["owner", "-created_at", "-id"], name="lead_owner_created"),
            models.Index(fields=["-created_at", "-id"], name="lead_created"),
            # Sortable columns (ascending or, scanned backwards, descending), id breaking ties.
            models.Index(fields=["company", "id"], name="lead_company_sort"),
            models.Index(fields=["last_name", "id"], name="lead_last_name_sort"),
            models.Index(fields=["source", "-created_at", "-id"], name="lead_source_created"),
            models.Index(fields=["first_campaign", "-created_at", "-id"], name="lead_campaign_created"),
            # The reports' definition version filter; most leads never qualified, so only those that did.
            models.Index(
                fields=["qualified_version", "-created_at", "-id"],
                name="lead_version_created",
                condition=models.Q(qualified_version__isnull=False),
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["email"], name="lead_email_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # every lead has its score row (bulk paths insert theirs themselves)
            self._score_model().objects.create(lead=self, created_at=self.created_at, last_touch_at=self.last_touch_at)

    @classmethod
    def _score_model(cls) -> type[models.Model]:
        """LeadScore, reached through its relation: leads.models.scoring imports this module."""
        return cls._meta.get_field("scoring").related_model

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None

    # Scores live in LeadScore (leads.models.scoring), a narrow table that a rescore rewrites
    # without touching this row's many indexes. These read through it; lists select_related
    # "scoring" (and "scoring__persona") so reading them costs no query per lead.
    @property
    def scorecard(self) -> Any:
        try:
            return self.scoring
        except ObjectDoesNotExist:
            return self._score_model()(lead=self)  # not scored yet: zeros

    @property
    def score(self) -> int:
        return self.scorecard.score

    @property
    def fit_score(self) -> int:
        return self.scorecard.fit

    @property
    def engagement_score(self) -> int:
        return self.scorecard.engagement

    @property
    def score_breakdown(self) -> dict[str, int]:
        return self.scorecard.breakdown

    @property
    def persona_id(self) -> int | None:
        return self.scorecard.persona_id

    @property
    def persona(self) -> Any:
        return self.scorecard.persona


# The capture form a form_submitted event came through, as text. Cast, so that lookups on it
# compare text on SQLite too (a JSON key's own lookups there read the value as JSON).
FORM_KEY = Cast(KT("properties__form"), models.TextField())

# What an event type may be called, wherever one is named (the events API, a definition's
# rule): lower case, digits and _ . -, up to 64 characters.
EVENT_TYPE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class Event(models.Model):
    """A touchpoint. Append-only; the client's idempotency key makes a resend a no-op."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    properties = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["lead", "type", "occurred_at"], name="event_lead_type_time"),
            # Carries the lead, so "did X within N days" over every lead (a segment's count, a
            # backtest) reads lead ids from the index, not every matching event row.
            models.Index(fields=["type", "occurred_at"], name="event_type_time_lead", include=["lead"]),
            # Most events name no campaign: leaving them out spares each one an index entry,
            # and `campaign = X` still implies the condition, so such reads use it.
            models.Index(
                fields=["campaign", "occurred_at"],
                name="event_campaign_time",
                condition=models.Q(campaign__isnull=False),
            ),
            # The forms pages count each form's submissions by this key (`capture_form_submissions`);
            # without it, that count read every event of the type (590 ms a page at 10M events).
            # Only submissions that name their form: API events of the type carry none.
            models.Index(
                FORM_KEY,
                name="event_form_submissions",
                condition=models.Q(IsNull(FORM_KEY, False), type="form_submitted"),
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="event_idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ChangeSource(models.TextChoices):
    USER = "user", "A person"
    RULE = "rule", "Qualification rule"
    PLAYBOOK = "playbook", "Playbook"
    IMPORT = "import", "Import"
    SYSTEM = "system", "System"


class TransactionId(models.Func):
    """The id of the transaction writing the row: PostgreSQL's 64-bit pg_current_xact_id(),
    which never wraps. SQLite runs one writer at a time, so row ids already follow commit
    order there and the column holds 0."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return "0", []

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return "(pg_current_xact_id()::text::bigint)", []


class StageChange(models.Model):
    """One row per stage move. Append-only: reports are built from this history, and the
    features that react to a move (handoff to sales) follow it in the order of `txid, id`."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes", db_index=False)
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=ChangeSource.choices, default=ChangeSource.USER)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    playbook_id = models.BigIntegerField(null=True, blank=True, help_text="The playbook that moved it, if any.")
    definition_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The qualification definition version that qualified the lead."
    )
    matched_rules = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    # Set by the database: the writing transaction, so a reader can tell which rows are final
    # (leads.history.stage_changes_follow).
    txid = models.BigIntegerField(db_default=TransactionId(), editable=False)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-changed_at"], name="stagechange_lead_time"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_time"),
            models.Index(fields=["txid", "id"], name="stagechange_follow"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"


class HistoryReader(models.Model):
    """How far one reader of the stage history has read: the last (txid, id) it handled."""

    name = models.CharField(max_length=50, primary_key=True)
    txid = models.BigIntegerField(default=0)
    last_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.txid}/{self.last_id}"


class Job(models.Model):
    """A long background job (import, rescore, bulk change) whose progress a page can show."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Durability (leads.jobs): when its task was last sent and how many times since it was
    # (re-)queued (the sweep waits twice as long before each send again), the running worker's
    # lease (renewed with every committed chunk), when the run last made progress (claimed it or
    # committed a chunk: a run without any for JOB_STALL_SECONDS loses its lease), how many runs
    # claimed it, and where the next run resumes.
    sent_at = models.DateTimeField(default=timezone.now)
    sends = models.PositiveSmallIntegerField(default=1)
    lease_until = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    checkpoint = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweep's two questions: queued jobs nobody took, running jobs whose lease ran out.
            models.Index(
                fields=["status", "sent_at", "lease_until"],
                name="job_unfinished_idx",
                condition=models.Q(status__in=["queued", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def was_interrupted(self) -> bool:
        """A run of it stopped before the end (its worker died): it waits to resume or resumed."""
        return self.attempts > 1 or (self.status == self.Status.QUEUED and self.attempts > 0)


class LeadField(NamedTuple):
    name: str
    label: str  # how lists, filters and rules name it
    form_label: str  # how a capture form asks a visitor for it
    input_type: str
    autocomplete: str  # the HTML autocomplete token a browser fills it from


# A lead's contact and firmographic fields, declared once: what forms, imports, edits and merges
# may fill, how a form asks for each, and how rules name them. Lengths are the model's.
LEAD_FIELDS = (
    LeadField("first_name", "First name", "First name", "text", "given-name"),
    LeadField("last_name", "Last name", "Last name", "text", "family-name"),
    LeadField("phone", "Phone", "Phone", "tel", "tel"),
    LeadField("company", "Company", "Company", "text", "organization"),
    LeadField("title", "Title", "Job title", "text", "organization-title"),
    LeadField("industry", "Industry", "Industry", "text", "off"),
    LeadField("company_size", "Company size", "Company size (employees)", "number", "off"),
    LeadField("country", "Country", "Country (two-letter code)", "text", "country"),
    LeadField("website", "Website", "Website", "text", "url"),
)
LEAD_PROFILE_FIELDS = tuple(field.name for field in LEAD_FIELDS)
LEAD_TEXT_FIELDS = tuple(name for name in LEAD_PROFILE_FIELDS if name != "company_size")
LEAD_FIELD_LABELS = {field.name: field.label for field in LEAD_FIELDS}

# What personas, qualification rules, assignment conditions and segments may test: the
# firmographic fields, where the lead came from, its email's domain and its stage.
LEAD_ATTRIBUTE_FIELDS = {
    **{name: label for name, label in LEAD_FIELD_LABELS.items() if name not in ("phone", "website")},
    "source": "Source",
    "email_domain": "Email domain",
    "stage": "Stage",
}
