"""The pages under /leads/: the Lead itself first, then each feature's own pages."""

from django.urls import path

from leads import views
from leads.capture import views as capture_views
from leads.privacy import views as privacy_views
from leads.qualification import views as qualification_views
from leads.sales.views import deals as deal_views
from leads.sales.views import handoff as handoff_views
from leads.sales.views import notifications as notification_views
from leads.sales.views import queue as queue_views
from leads.sales.views import teams as team_views
from leads.scoring import views as scoring_views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("export.csv", views.lead_export, name="export"),
    path("bulk/owner/", views.lead_bulk_owner, name="bulk_owner"),
    path("views/", views.saved_view_save, name="view_save"),
    path("views/<int:pk>/delete/", views.saved_view_remove, name="view_delete"),
    path("<int:pk>/edit/", views.lead_edit_view, name="edit"),
    path("<int:pk>/merge/", views.lead_merge_pick, name="merge"),
    path("<int:pk>/merge/<int:other_pk>/", views.lead_merge_confirm, name="merge_confirm"),
    # A person's data: a copy of it, and its erasure (managers).
    path("<int:pk>/data.json", privacy_views.lead_data_export, name="data_export"),
    path("<int:pk>/erase/", privacy_views.lead_data_erase, name="data_erase"),
    path("imports/", capture_views.import_list, name="imports"),
    path("imports/new/", capture_views.import_new, name="import_new"),
    path("imports/<uuid:token>/map/", capture_views.import_map, name="import_map"),
    path("imports/<int:pk>/", capture_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/status/", capture_views.import_status, name="import_status"),
    path("imports/<int:pk>/errors.csv", capture_views.import_errors, name="import_errors"),
    path("campaigns/", capture_views.campaign_list, name="campaigns"),
    path("campaigns/new/", capture_views.campaign_create, name="campaign_new"),
    path("campaigns/<int:pk>/", capture_views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", capture_views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/costs/", capture_views.cost_add, name="campaign_cost_add"),
    path("campaigns/<int:pk>/costs/<int:cost_pk>/remove/", capture_views.cost_remove, name="campaign_cost_remove"),
    path("jobs/<int:pk>/", views.job_progress, name="job"),
    # Scoring: personas and rules (marketing, managers).
    path("personas/", scoring_views.persona_list, name="personas"),
    path("personas/new/", scoring_views.persona_create, name="persona_create"),
    path("personas/<int:pk>/", scoring_views.persona_edit, name="persona_edit"),
    path("personas/<int:pk>/active/", scoring_views.persona_active, name="persona_active"),
    path("scoring/", scoring_views.rule_list, name="scoring"),
    path("scoring/new/", scoring_views.rule_create, name="rule_create"),
    path("scoring/<int:pk>/", scoring_views.rule_edit, name="rule_edit"),
    path("scoring/<int:pk>/active/", scoring_views.rule_active, name="rule_active"),
    # Qualification definitions: versions, builder, sign-off, backtest.
    path("definitions/", qualification_views.definition_list, name="definitions"),
    path("definitions/new/", qualification_views.definition_new, name="definition_new"),
    path("definitions/<int:pk>/", qualification_views.definition_detail, name="definition"),
    path("definitions/<int:pk>/edit/", qualification_views.definition_edit, name="definition_edit"),
    path("definitions/<int:pk>/propose/", qualification_views.definition_propose, name="definition_propose"),
    path("definitions/<int:pk>/sign/", qualification_views.definition_sign, name="definition_sign"),
    path("definitions/<int:pk>/activate/", qualification_views.definition_activate, name="definition_activate"),
    path("definitions/<int:pk>/retire/", qualification_views.definition_retire, name="definition_retire"),
    path("definitions/<int:pk>/backtest/", qualification_views.definition_backtest, name="definition_backtest"),
    path("definitions/<int:pk>/review/", qualification_views.definition_review, name="definition_review"),
    path("definitions/<int:pk>/jobs/<int:job_pk>/", qualification_views.definition_job, name="definition_job"),
    path("forms/", capture_views.form_list, name="forms"),
    path("forms/new/", capture_views.form_create, name="form_new"),
    path("forms/<int:pk>/", capture_views.form_detail, name="form_detail"),
    path("forms/<int:pk>/edit/", capture_views.form_edit, name="form_edit"),
    # Sales: the rep's queue, their actions on a lead, deals, notifications.
    path("queue/", queue_views.queue_page, name="queue"),
    path("queue/claim/", queue_views.queue_claim, name="queue_claim"),
    path("<int:pk>/activities/", queue_views.lead_log_activity, name="lead_activity"),
    path("<int:pk>/accept/", queue_views.lead_accept, name="lead_accept"),
    path("<int:pk>/reject/", queue_views.lead_reject, name="lead_reject"),
    path("<int:pk>/recycle/", queue_views.lead_recycle, name="lead_recycle"),
    path("deals/", deal_views.deal_board, name="deals"),
    path("deals/list/", deal_views.deal_list, name="deal_list"),
    path("deals/<int:pk>/", deal_views.deal_detail, name="deal"),
    path("deals/<int:pk>/move/", deal_views.deal_move, name="deal_move"),
    path("deals/<int:pk>/edit/", deal_views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/won/", deal_views.deal_won, name="deal_won"),
    path("deals/<int:pk>/lost/", deal_views.deal_lost, name="deal_lost"),
    path("deals/<int:pk>/reopen/", deal_views.deal_reopen, name="deal_reopen"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read/", notification_views.notification_read, name="notifications_read"),
    path("notifications/bell/", notification_views.notification_bell, name="notification_bell"),
    # Teams, their reps and the assignment rules (managers); handing a lead to sales by hand.
    path("teams/", team_views.team_list, name="teams"),
    path("teams/<int:pk>/", team_views.team_page, name="team"),
    path("teams/<int:pk>/reps/", team_views.team_rep_add, name="team_rep_add"),
    path("teams/<int:pk>/reps/<int:rep_id>/", team_views.team_rep_update, name="team_rep_update"),
    path("teams/<int:pk>/reps/<int:rep_id>/remove/", team_views.team_rep_remove, name="team_rep_remove"),
    path("teams/rules/new/", team_views.assignment_rule_form, name="assignment_rule_new"),
    path("teams/rules/<int:pk>/", team_views.assignment_rule_form, name="assignment_rule_edit"),
    path("teams/rules/<int:pk>/delete/", team_views.assignment_rule_remove, name="assignment_rule_delete"),
    path("teams/rules/<int:pk>/move/", team_views.assignment_rule_move, name="assignment_rule_move"),
    path("<int:pk>/hand-off/", handoff_views.lead_hand_off, name="lead_hand_off"),
]
