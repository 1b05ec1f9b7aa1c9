from django.urls import path

from playbooks.email import public, views
from playbooks.engine import views as playbook_views
from playbooks.lists import views as list_views
from playbooks.referrals import public as referral_public
from playbooks.referrals import views as referral_views

app_name = "playbooks"

urlpatterns = [
    # Marketing's pages.
    path("", playbook_views.playbook_list, name="playbooks"),
    path("new/", playbook_views.playbook_create, name="playbook-new"),
    path("<int:pk>/", playbook_views.playbook_detail, name="playbook"),
    path("<int:pk>/edit/", playbook_views.playbook_edit, name="playbook-edit"),
    path("<int:pk>/activate/", playbook_views.playbook_activate, name="playbook-activate"),
    path("<int:pk>/pause/", playbook_views.playbook_pause, name="playbook-pause"),
    path("<int:pk>/dry-run/", playbook_views.playbook_dry_run_page, name="playbook-dry-run"),
    path("<int:pk>/enrol/", playbook_views.playbook_enrol_list, name="playbook-enrol-list"),
    path("<int:pk>/delete/", playbook_views.playbook_delete, name="playbook-delete"),
    path("enrolments/<int:pk>/remove/", playbook_views.enrolment_remove, name="enrolment-remove"),
    path("leads/<int:pk>/", playbook_views.lead_playbooks, name="lead-playbooks"),
    path("email/templates/", views.template_list, name="email-templates"),
    path("email/templates/new/", views.template_create, name="email-template-new"),
    path("email/templates/<int:pk>/", views.template_edit, name="email-template"),
    path("email/templates/<int:pk>/preview/", views.template_preview, name="email-template-preview"),
    path("email/templates/<int:pk>/preview/html/", views.template_preview_html, name="email-template-preview-html"),
    path("email/templates/<int:pk>/test/", views.template_test_send, name="email-template-test"),
    path("email/outbox/", views.outbox_list, name="outbox"),
    path("email/outbox/<int:pk>/", views.outbox_detail, name="outbox-email"),
    path("email/outbox/<int:pk>/html/", views.outbox_html, name="outbox-email-html"),
    path("email/outbox/<int:pk>/retry/", views.outbox_retry, name="outbox-retry"),
    path("lists/", list_views.list_index, name="lists"),
    path("lists/new/", list_views.list_create, name="list-new"),
    path("lists/preview/", list_views.list_preview, name="list-preview"),
    path("lists/<int:pk>/", list_views.list_detail, name="list"),
    path("lists/<int:pk>/edit/", list_views.list_edit, name="list-edit"),
    path("lists/<int:pk>/delete/", list_views.list_delete, name="list-delete"),
    path("lists/<int:pk>/members/add/", list_views.members_add, name="list-members-add"),
    path("lists/<int:pk>/members/<int:lead_pk>/remove/", list_views.member_remove, name="list-member-remove"),
    path("lists/<int:pk>/import/", list_views.list_import, name="list-import"),
    path("lists/<int:pk>/export/", list_views.list_export, name="list-export"),
    path("referrals/", referral_views.referral_list, name="referrals"),
    path("referrals/<int:pk>/pay/", referral_views.referral_pay, name="referral-pay"),
]

# What recipients reach from a message: no login, a signed token is the authority.
public_urlpatterns = [
    path("o/<str:token>/", public.email_open, name="open"),
    path("c/<str:token>/", public.email_click, name="click"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
]

# What a referral link and an NPS question lead to (under /r/): no login; a referral code or a
# signed token is the authority.
referral_urlpatterns = [
    path("nps/<str:token>/", referral_public.nps, name="nps"),
    path("<str:code>/", referral_public.landing, name="landing"),
    path("<str:code>/thanks/", referral_public.thanks, name="thanks"),
]
