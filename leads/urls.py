from django.urls import path

from leads.views import leads as views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("jobs/<int:pk>/", views.job_progress, name="job"),
]
