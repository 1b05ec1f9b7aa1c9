"""Everything under /api/v1/."""

from django.urls import path

from leads import api as leads_api
from leads import api_sales as sales
from leads import capture

urlpatterns = [
    path("me/", leads_api.MeView.as_view(), name="api-me"),
    path("leads/", leads_api.LeadsView.as_view(), name="api-leads"),
    path("leads/<int:pk>/", leads_api.LeadDetailView.as_view(), name="api-lead-detail"),
    path("events/", leads_api.EventsView.as_view(), name="api-events"),
    path("capture/<slug:form_key>/", capture.CaptureView.as_view(), name="api-capture"),
    # The sales side: queue, verdicts, activities, deals, the agreement (leads/api_sales.py).
    path("queue/", sales.QueueView.as_view(), name="api-queue"),
    path("queue/claim/", sales.ClaimView.as_view(), name="api-queue-claim"),
    path("leads/<int:pk>/accept/", sales.LeadAcceptView.as_view(), name="api-lead-accept"),
    path("leads/<int:pk>/reject/", sales.LeadRejectView.as_view(), name="api-lead-reject"),
    path("leads/<int:pk>/recycle/", sales.LeadRecycleView.as_view(), name="api-lead-recycle"),
    path("leads/<int:pk>/activities/", sales.LeadActivitiesView.as_view(), name="api-lead-activities"),
    path("deals/", sales.DealsView.as_view(), name="api-deals"),
    path("deals/stages/", sales.DealStagesView.as_view(), name="api-deal-stages"),
    path("deals/<int:pk>/", sales.DealDetailView.as_view(), name="api-deal-detail"),
    path("deals/<int:pk>/won/", sales.DealWonView.as_view(), name="api-deal-won"),
    path("deals/<int:pk>/lost/", sales.DealLostView.as_view(), name="api-deal-lost"),
    path("deals/<int:pk>/reopen/", sales.DealReopenView.as_view(), name="api-deal-reopen"),
    path("reasons/", sales.ReasonsView.as_view(), name="api-reasons"),
    path("agreement/", sales.AgreementView.as_view(), name="api-agreement"),
    path("notifications/", sales.NotificationsView.as_view(), name="api-notifications"),
    path("notifications/read/", sales.NotificationsReadView.as_view(), name="api-notifications-read"),
]
