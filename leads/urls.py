from django.urls import path

from leads.views import forms as form_views
from leads.views import leads as views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("jobs/<int:pk>/", views.job_progress, name="job"),
    path("forms/", form_views.form_list, name="forms"),
    path("forms/new/", form_views.form_create, name="form_new"),
    path("forms/<int:pk>/", form_views.form_detail, name="form_detail"),
    path("forms/<int:pk>/edit/", form_views.form_edit, name="form_edit"),
]
