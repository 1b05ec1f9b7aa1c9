from django.urls import path

from smarketing.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.changes, name="changes"),
]
