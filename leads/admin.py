from django.contrib import admin

import leads.sales.admin  # noqa: F401  (registers the sales side's models)
from leads.models import Campaign, CampaignCost, Event, Job, Lead, StageChange


class CampaignCostInline(admin.TabularInline):
    model = CampaignCost
    extra = 1


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "utm_source", "utm_medium", "utm_campaign", "starts_on", "ends_on"]
    list_filter = ["channel"]
    search_fields = ["name", "utm_campaign"]
    inlines = [CampaignCostInline]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "stage", "owner", "score", "created_at"]
    list_filter = ["stage", "owner"]
    search_fields = ["email", "first_name", "last_name", "company"]
    list_select_related = ["owner", "scoring"]
    raw_id_fields = ["owner", "first_campaign", "last_campaign"]
    # last_touch_at comes from events, and the score row keeps the copy the list sorts by.
    readonly_fields = ["created_at", "updated_at", "stage_changed_at", "last_touch_at"]
    show_full_result_count = False  # counting millions of rows on every page is slow


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "lead", "occurred_at", "campaign"]
    list_filter = ["type"]
    search_fields = ["idempotency_key", "lead__email"]
    raw_id_fields = ["lead", "campaign"]
    show_full_result_count = False

    def has_change_permission(self, request: object, obj: object = None) -> bool:  # append-only
        return False


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "from_stage", "to_stage", "changed_at", "source", "changed_by", "definition_version"]
    list_filter = ["to_stage", "source"]
    raw_id_fields = ["lead", "changed_by"]
    show_full_result_count = False

    def has_change_permission(self, request: object, obj: object = None) -> bool:  # append-only history
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "status", "done", "total", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
