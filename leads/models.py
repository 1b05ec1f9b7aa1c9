"""The core domain: leads, their touchpoints (events), campaigns and stage history."""

from django.conf import settings
from django.db import models
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
    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, db_index=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="Events carrying this utm_campaign are credited here."
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CampaignCost(models.Model):
    """Money spent on a campaign on a day (one row per invoice, ad-spend day, sponsorship …)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="costs")
    incurred_on = models.DateField(db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-incurred_on"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="campaign_cost_not_negative")]

    def __str__(self) -> str:
        return f"{self.campaign} {self.incurred_on}: {self.amount}"


def normalize_email(email: str) -> str:
    """One lead per address: trimmed and case-folded."""
    return email.strip().casefold()


class Lead(models.Model):
    email = models.EmailField(max_length=254, unique=True, help_text="Stored normalized: trimmed, lower case.")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True, db_index=True)
    company_size = models.PositiveIntegerField(null=True, blank=True, help_text="Employees.")
    country = models.CharField(max_length=2, blank=True, db_index=True, help_text="ISO 3166 alpha-2 code.")
    website = models.CharField(max_length=200, blank=True)

    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_leads"
    )
    # Scores are narrow integers: hot columns read by every list and rescored in bulk.
    fit_score = models.SmallIntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score = models.IntegerField(default=0)
    score_breakdown = models.JSONField(default=dict, blank=True, help_text="Each rule's contribution to the score.")
    persona = models.ForeignKey(
        "leads.Persona", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", help_text="Best match."
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
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="first_touch_leads"
    )
    first_touch = models.JSONField(default=dict, blank=True)
    last_source = models.CharField(max_length=100, blank=True)
    last_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="last_touch_leads"
    )
    last_touch = models.JSONField(default=dict, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    stage_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # One per list filter, each ending in the default order so a filtered first page
            # is an index range scan.
            models.Index(fields=["stage", "-created_at"], name="lead_stage_created"),
            models.Index(fields=["owner", "-created_at"], name="lead_owner_created"),
            models.Index(fields=["-created_at", "-id"], name="lead_created"),
            models.Index(fields=["score"], name="lead_score"),
            models.Index(fields=["persona", "-created_at"], name="lead_persona_created"),
            models.Index(fields=["source", "-created_at"], name="lead_source_created"),
            models.Index(fields=["first_campaign", "-created_at"], name="lead_campaign_created"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None


class Event(models.Model):
    """A touchpoint. Append-only; the client's idempotency key makes a resend a no-op."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    properties = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["lead", "type", "occurred_at"], name="event_lead_type_time"),
            models.Index(fields=["type", "occurred_at"], name="event_type_time"),
            models.Index(fields=["campaign", "occurred_at"], name="event_campaign_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ChangeSource(models.TextChoices):
    USER = "user", "A person"
    RULE = "rule", "Qualification rule"
    PLAYBOOK = "playbook", "Playbook"
    IMPORT = "import", "Import"
    SYSTEM = "system", "System"


class StageChange(models.Model):
    """One row per stage move. Append-only: reports are built from this history."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes")
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

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-changed_at"], name="stagechange_lead_time"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_time"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"


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

    class Meta:
        ordering = ["-created_at"]

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


# Fields a persona, a qualification rule or an import may read or write.
LEAD_ATTRIBUTE_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "title": "Title",
    "industry": "Industry",
    "company_size": "Company size",
    "country": "Country",
    "source": "Source",
    "email_domain": "Email domain",
}


class Persona(models.Model):
    """A buyer archetype: attribute conditions with weights; fit is the weighted share matched."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    conditions = models.JSONField(
        default=list, help_text='A list of {"field", "op", "value", "weight"}; see leads/conditions.py.'
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScoringRule(models.Model):
    """An engagement rule (event → points, capped, decaying) or a negative rule (attribute → minus points)."""

    class Kind(models.TextChoices):
        ENGAGEMENT = "engagement", "Engagement"
        FREE_MAIL = "free_mail", "Free-mail domain"
        COMPETITOR = "competitor", "Competitor"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ENGAGEMENT)
    event_type = models.CharField(max_length=64, blank=True, help_text="Engagement rules: the event that earns points.")
    property_filter = models.JSONField(
        default=dict, blank=True, help_text='Optional: {"property": "value"} the event must carry.'
    )
    points = models.IntegerField(help_text="Points per event (engagement) or points taken off (negative rules).")
    cap = models.PositiveIntegerField(null=True, blank=True, help_text="Most points this rule can give a lead.")
    half_life_days = models.FloatField(
        null=True, blank=True, help_text="An event's points halve every this many days. Empty: no decay."
    )
    values = models.JSONField(
        default=list, blank=True, help_text="Negative rules: the free-mail domains or competitor names/domains."
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(half_life_days__isnull=True) | models.Q(half_life_days__gt=0),
                name="scoring_rule_half_life_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_negative(self) -> bool:
        return self.kind != self.Kind.ENGAGEMENT


class EngagementRollup(models.Model):
    """Per lead and engagement rule: the decayed sum of points as of ScoringState.decayed_at.

    Kept current as events arrive and decayed multiplicatively each night, so a rescore reads
    these small rows instead of every event.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(ScoringRule, on_delete=models.CASCADE, related_name="+")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "rule"], name="engagement_rollup_unique")]
        indexes = [models.Index(fields=["rule"], name="engagement_rollup_rule")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} · rule {self.rule_id}: {self.value:.2f}"


class ScoringState(models.Model):
    """One row: the moment every rollup's value is decayed to."""

    decayed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"scores decayed to {self.decayed_at:%Y-%m-%d %H:%M}"

    @classmethod
    def current(cls) -> "ScoringState":
        state, _ = cls.objects.get_or_create(pk=1)
        return state


class DefinitionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class QualificationDefinition(models.Model):
    """A version of the MQL and SQL criteria that marketing and sales agreed on.

    draft → proposed → approved (one Marketing and one Sales signature) → active → retired;
    exactly one version is active. The rule trees are described in leads/rules.py.
    """

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DefinitionStatus.choices, default=DefinitionStatus.DRAFT)
    mql_rule = models.JSONField(default=dict)
    sql_rule = models.JSONField(default=dict)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    proposed_at = models.DateTimeField(null=True, blank=True)
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    sales_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sales_signed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="one_active_definition"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version}" + (f" · {self.name}" if self.name else "")

    @property
    def is_editable(self) -> bool:
        return self.status == DefinitionStatus.DRAFT


class CaptureForm(models.Model):
    """A hosted form and its embeddable snippet; submissions post to /api/v1/capture/<key>/."""

    FIELD_CHOICES = [
        ("email", "Email"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("phone", "Phone"),
        ("company", "Company"),
        ("title", "Title"),
        ("industry", "Industry"),
        ("company_size", "Company size"),
        ("country", "Country"),
        ("website", "Website"),
    ]

    name = models.CharField(max_length=200)
    key = models.SlugField(max_length=40, unique=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="forms")
    fields = models.JSONField(default=list, help_text="Field names shown on the form; email is always included.")
    required_fields = models.JSONField(default=list, blank=True)
    thank_you_url = models.URLField(blank=True, help_text="Where a browser goes after submitting. Empty: our page.")
    consent_text = models.TextField(blank=True, help_text="Shown beside the consent checkbox. Empty: no checkbox.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class LeadMerge(models.Model):
    """Record of two leads merged by hand: what the absorbed lead was, and into which survivor."""

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges")
    merged_lead_id = models.BigIntegerField()
    merged_email = models.EmailField(max_length=254)
    snapshot = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.merged_email} → {self.survivor_id}"


class SavedView(models.Model):
    """A named lead-list filter, kept per user (or shared with everyone)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, help_text="The list's query string.")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name
