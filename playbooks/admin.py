"""The back office for playbooks' tables (Django admin); each feature adds its own models."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from playbooks.lists.services import list_errors
from playbooks.models import LeadList, Referral, Referrer

# --- Referrals --------------------------------------------------------------------------


class ReferralInline(admin.TabularInline):
    model = Referral
    extra = 0
    raw_id_fields = ["lead", "paid_by"]
    readonly_fields = ["created_at", "earned_at", "paid_at"]


@admin.register(Referrer)
class ReferrerAdmin(admin.ModelAdmin):
    list_display = ["code", "lead", "created_at"]
    search_fields = ["code", "lead__email"]
    raw_id_fields = ["lead"]
    readonly_fields = ["created_at"]
    list_select_related = ["lead"]
    inlines = [ReferralInline]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    # Earning and paying have their pages and rules (playbooks.referrals); the admin corrects by hand.
    list_display = ["lead", "referrer", "status", "credit", "created_at", "earned_at", "paid_at", "paid_by"]
    list_filter = ["status"]
    search_fields = ["lead__email", "referrer__code", "referrer__lead__email"]
    raw_id_fields = ["referrer", "lead", "paid_by"]
    list_select_related = ["lead", "referrer", "paid_by"]
    readonly_fields = ["created_at"]


# --- Lists ------------------------------------------------------------------------------


class LeadListAdminForm(forms.ModelForm):
    """The lists pages' rules (a valid tree for a segment, none for a static list, a unique
    name, no kind change with members), checked by the service that saves lists."""

    class Meta:
        model = LeadList
        fields = ["name", "kind", "description", "condition", "created_by"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        data = {name: cleaned.get(name) for name in ("name", "kind", "description", "condition")}
        for field, messages in list_errors(data=data, lead_list=self.instance if self.instance.pk else None).items():
            self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(LeadList)
class LeadListAdmin(admin.ModelAdmin):
    # Members are not shown inline: a list can hold hundreds of thousands. The lists pages and
    # the API add and remove them (playbooks.lists).
    form = LeadListAdminForm
    list_display = ["name", "kind", "created_by", "created_at", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]
    raw_id_fields = ["created_by"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: LeadList, form: forms.ModelForm, change: bool) -> None:
        obj.updated_at = timezone.now()
        if not change and obj.created_by is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
