from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class SmarketingConfig(AppConfig):
    name = "smarketing"
    verbose_name = "smarketing"

    def ready(self) -> None:
        # The embedded broker and the SQLite file live under var/; make sure it exists.
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns otherwise
        broker = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        for key in ("data_folder_in", "processed_folder"):
            if key in broker:
                Path(broker[key]).mkdir(parents=True, exist_ok=True)
