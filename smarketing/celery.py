"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
# The embedded broker, safe to read while a message is written (smarketing/lib/broker.py).
TRANSPORT_ALIASES["filesystem"] = "smarketing.lib.broker:Transport"

app = Celery("smarketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
