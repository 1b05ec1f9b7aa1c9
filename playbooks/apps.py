from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = "Playbooks"

    def ready(self) -> None:
        from anymail.signals import tracking

        from playbooks.email.webhooks import tracking_received

        tracking.connect(tracking_received, dispatch_uid="playbooks.email.suppress")
