"""Everything under /api/v1/."""

from django.urls import path

from leads import api as lead_api
from leads.capture import api as capture_api
from leads.privacy import api as privacy_api
from leads.sales import api as sales_api
from playbooks.email import api as email_api
from playbooks.engine import api as playbook_api
from playbooks.lists import api as list_api
from playbooks.referrals import api as referral_api
from reports import api as report_api
from reports.attribution import api as attribution_api
from reports.dashboard import api as dashboard_api
from reports.funnel import api as funnel_api
from reports.pack import api as pack_api
from reports.winloss import api as winloss_api
from smarketing.audit import api as audit_api

urlpatterns = [
    path("me/", lead_api.MeView.as_view(), name="api-me"),
    path("leads/", lead_api.LeadsView.as_view(), name="api-leads"),
    path("leads/<int:pk>/", lead_api.LeadDetailView.as_view(), name="api-lead-detail"),
    path("leads/<int:pk>/export/", privacy_api.LeadExportView.as_view(), name="api-lead-export"),
    path("leads/<int:pk>/erase/", privacy_api.LeadEraseView.as_view(), name="api-lead-erase"),
    path("events/", capture_api.EventsView.as_view(), name="api-events"),
    path("capture/<slug:form_key>/", capture_api.CaptureView.as_view(), name="api-capture"),
    path("campaigns/", capture_api.CampaignsView.as_view(), name="api-campaigns"),
    path("campaigns/<int:pk>/", capture_api.CampaignDetailView.as_view(), name="api-campaign-detail"),
    path("campaigns/<int:pk>/costs/", capture_api.CampaignCostsView.as_view(), name="api-campaign-costs"),
    path(
        "campaigns/<int:pk>/costs/<int:cost_pk>/",
        capture_api.CampaignCostDetailView.as_view(),
        name="api-campaign-cost-detail",
    ),
    # The sales side: queue, verdicts, activities, deals, the agreement.
    path("queue/", sales_api.QueueView.as_view(), name="api-queue"),
    path("queue/claim/", sales_api.ClaimView.as_view(), name="api-queue-claim"),
    path("leads/<int:pk>/accept/", sales_api.LeadAcceptView.as_view(), name="api-lead-accept"),
    path("leads/<int:pk>/reject/", sales_api.LeadRejectView.as_view(), name="api-lead-reject"),
    path("leads/<int:pk>/recycle/", sales_api.LeadRecycleView.as_view(), name="api-lead-recycle"),
    path("leads/<int:pk>/activities/", sales_api.LeadActivitiesView.as_view(), name="api-lead-activities"),
    path("deals/", sales_api.DealsView.as_view(), name="api-deals"),
    path("deals/stages/", sales_api.DealStagesView.as_view(), name="api-deal-stages"),
    path("deals/<int:pk>/", sales_api.DealDetailView.as_view(), name="api-deal-detail"),
    path("deals/<int:pk>/won/", sales_api.DealWonView.as_view(), name="api-deal-won"),
    path("deals/<int:pk>/lost/", sales_api.DealLostView.as_view(), name="api-deal-lost"),
    path("deals/<int:pk>/reopen/", sales_api.DealReopenView.as_view(), name="api-deal-reopen"),
    path("reasons/", sales_api.ReasonsView.as_view(), name="api-reasons"),
    path("agreement/", report_api.AgreementView.as_view(), name="api-agreement"),
    path("reports/roi/", attribution_api.RoiView.as_view(), name="api-reports-roi"),
    path("reports/win-loss/", winloss_api.WinLossView.as_view(), name="api-reports-win-loss"),
    path("reports/funnel/", funnel_api.FunnelView.as_view(), name="api-reports-funnel"),
    path("reports/velocity/", funnel_api.VelocityView.as_view(), name="api-reports-velocity"),
    path("reports/dashboard/", dashboard_api.DashboardView.as_view(), name="api-reports-dashboard"),
    path("reports/meeting-packs/", pack_api.MeetingPackListView.as_view(), name="api-reports-meeting-packs"),
    path("reports/meeting-packs/<str:week>/", pack_api.MeetingPackView.as_view(), name="api-reports-meeting-pack"),
    # Email: templates, what a lead was sent, unsubscribing through an integration.
    path("email-templates/", email_api.EmailTemplatesView.as_view(), name="api-email-templates"),
    path("email-templates/<int:pk>/", email_api.EmailTemplateDetailView.as_view(), name="api-email-template-detail"),
    path("leads/<int:pk>/emails/", email_api.LeadEmailsView.as_view(), name="api-lead-emails"),
    path("leads/<int:pk>/unsubscribe/", email_api.LeadUnsubscribeView.as_view(), name="api-lead-unsubscribe"),
    # Lists and segments, and the leads on them.
    path("lists/", list_api.ListsView.as_view(), name="api-lists"),
    path("lists/<int:pk>/", list_api.ListDetailView.as_view(), name="api-list-detail"),
    path("lists/<int:pk>/members/", list_api.ListMembersView.as_view(), name="api-list-members"),
    # Referrals: who referred whom, and paying out earned credit.
    path("referrals/", referral_api.ReferralsView.as_view(), name="api-referrals"),
    path("referrals/<int:pk>/pay/", referral_api.ReferralPayView.as_view(), name="api-referral-pay"),
    # Playbooks: the builder's JSON, activate, pause, dry run; a lead's enrolments.
    path("playbooks/", playbook_api.PlaybooksView.as_view(), name="api-playbooks"),
    path("playbooks/<int:pk>/", playbook_api.PlaybookDetailView.as_view(), name="api-playbook-detail"),
    path("playbooks/<int:pk>/activate/", playbook_api.PlaybookActivateView.as_view(), name="api-playbook-activate"),
    path("playbooks/<int:pk>/pause/", playbook_api.PlaybookPauseView.as_view(), name="api-playbook-pause"),
    path("playbooks/<int:pk>/dry-run/", playbook_api.PlaybookDryRunView.as_view(), name="api-playbook-dry-run"),
    path("leads/<int:pk>/enrollments/", playbook_api.LeadEnrollmentsView.as_view(), name="api-lead-enrollments"),
    path("notifications/", sales_api.NotificationsView.as_view(), name="api-notifications"),
    path("notifications/read/", sales_api.NotificationsReadView.as_view(), name="api-notifications-read"),
    # Teams, their reps and the assignment rules (managers); handing a lead to sales by hand.
    path("teams/", sales_api.TeamsView.as_view(), name="api-teams"),
    path("teams/<int:pk>/", sales_api.TeamDetailView.as_view(), name="api-team-detail"),
    path("teams/<int:pk>/reps/", sales_api.TeamRepsView.as_view(), name="api-team-reps"),
    path("teams/<int:pk>/reps/<int:rep_id>/", sales_api.TeamRepView.as_view(), name="api-team-rep"),
    path("assignment-rules/", sales_api.AssignmentRulesView.as_view(), name="api-assignment-rules"),
    path("assignment-rules/order/", sales_api.AssignmentRulesOrderView.as_view(), name="api-assignment-rules-order"),
    path("assignment-rules/<int:pk>/", sales_api.AssignmentRuleView.as_view(), name="api-assignment-rule"),
    path("leads/<int:pk>/hand-off/", sales_api.LeadHandOffView.as_view(), name="api-lead-hand-off"),
    # Who changed which setting, when, before and after (managers).
    path("audit/", audit_api.ChangesView.as_view(), name="api-audit"),
]
