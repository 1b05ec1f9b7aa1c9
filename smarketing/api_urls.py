"""Everything under /api/v1/."""

from django.urls import path

from leads import api as leads_api

urlpatterns = [
    path("me/", leads_api.MeView.as_view(), name="api-me"),
]
