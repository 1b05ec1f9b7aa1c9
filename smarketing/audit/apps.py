from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "smarketing.audit"
    label = "audit"
    verbose_name = "Audit log"
