"""Back-office for the sales side: agreements, teams and reps, assignment rules, the managed
reason lists and pipeline stages; handoffs, activities and deal history to look at. Changes to
the agreement, teams, reps and assignment rules here are written to the audit log, as the
app's own are (AuditedAdmin)."""

from typing import Any

from django.contrib import admin

from leads.models import (
    Activity,
    Agreement,
    AssignmentLog,
    AssignmentRule,
    Deal,
    DealChange,
    DealStage,
    Handoff,
    Notification,
    Reason,
    RepProfile,
    Team,
)
from smarketing.audit.admin import AuditedAdmin


class ReadOnlyHistory(admin.ModelAdmin):
    """Append-only history: visible, never edited or deleted by hand."""

    show_full_result_count = False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Agreement)
class AgreementAdmin(AuditedAdmin):
    list_display = ["month", "mql_target", "close_quota", "speed_to_lead_hours", "handoff_stage", "updated_at"]
    readonly_fields = ["created_by", "updated_at"]


class RepProfileInline(admin.TabularInline):
    model = RepProfile
    fields = ["user", "capacity", "away_from", "away_until"]
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "manager"]
    inlines = [RepProfileInline]


@admin.register(RepProfile)
class RepProfileAdmin(AuditedAdmin):
    list_display = ["user", "team", "capacity", "away_from", "away_until", "last_assigned_at"]
    list_filter = ["team"]
    raw_id_fields = ["user"]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(AuditedAdmin):
    list_display = ["position", "name", "is_active", "team", "rep"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    filter_horizontal = ["personas"]
    raw_id_fields = ["rep"]


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "code", "position", "needs_text", "is_active"]
    list_filter = ["kind", "is_active"]
    list_editable = ["position", "needs_text", "is_active"]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # past verdicts point at reasons: retire one by unticking "active"


@admin.register(DealStage)
class DealStageAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "outcome"]
    list_editable = ["position"]


class DealChangeInline(admin.TabularInline):
    model = DealChange
    fields = ["at", "by", "action", "changes", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    """Deals change through the app (so every change is recorded); here they are read."""

    list_display = ["name", "stage", "amount", "owner", "expected_close_on", "closed_at"]
    list_filter = ["stage"]
    search_fields = ["name", "lead__email"]
    raw_id_fields = ["lead", "owner"]
    inlines = [DealChangeInline]
    show_full_result_count = False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyHistory):
    list_display = ["lead", "status", "team", "assigned_to", "handed_off_at", "due_at", "first_touch_at"]
    list_filter = ["status", "team"]
    raw_id_fields = ["lead", "assigned_to"]


@admin.register(AssignmentLog)
class AssignmentLogAdmin(ReadOnlyHistory):
    list_display = ["lead", "action", "team", "from_rep", "to_rep", "reason", "at"]
    list_filter = ["action"]
    raw_id_fields = ["lead", "from_rep", "to_rep", "by"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyHistory):
    list_display = ["lead", "kind", "outcome", "by", "occurred_at", "next_step_on"]
    list_filter = ["kind"]
    raw_id_fields = ["lead", "by"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "text", "created_at", "read_at", "emailed_at"]
    raw_id_fields = ["user"]
    show_full_result_count = False
