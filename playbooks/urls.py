from django.urls import path

from playbooks.email import public, views

app_name = "playbooks"

urlpatterns = [
    # Marketing's pages.
    path("email/templates/", views.template_list, name="email-templates"),
    path("email/templates/new/", views.template_create, name="email-template-new"),
    path("email/templates/<int:pk>/", views.template_edit, name="email-template"),
    path("email/templates/<int:pk>/preview/", views.template_preview, name="email-template-preview"),
    path("email/templates/<int:pk>/test/", views.template_test_send, name="email-template-test"),
    path("email/outbox/", views.outbox_list, name="outbox"),
    path("email/outbox/<int:pk>/", views.outbox_detail, name="outbox-email"),
    path("email/outbox/<int:pk>/retry/", views.outbox_retry, name="outbox-retry"),
]

# What recipients reach from a message: no login, a signed token is the authority.
public_urlpatterns = [
    path("o/<str:token>/", public.email_open, name="open"),
    path("c/<str:token>/", public.email_click, name="click"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
]
