"""Everything under /api/v1/."""

from django.urls import path

from leads import api as leads_api
from leads import capture

urlpatterns = [
    path("me/", leads_api.MeView.as_view(), name="api-me"),
    path("leads/", leads_api.LeadsView.as_view(), name="api-leads"),
    path("leads/<int:pk>/", leads_api.LeadDetailView.as_view(), name="api-lead-detail"),
    path("events/", leads_api.EventsView.as_view(), name="api-events"),
    path("capture/<slug:form_key>/", capture.CaptureView.as_view(), name="api-capture"),
]
