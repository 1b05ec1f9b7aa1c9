"""The pages under /reports/."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("agreement/", views.agreement_page, name="agreement"),
    path("agreement/edit/", views.agreement_edit, name="agreement_edit"),
]
