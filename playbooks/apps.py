from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = "Playbooks"

    def ready(self) -> None:
        from anymail.signals import tracking

        from playbooks.email.webhooks import tracking_received

        tracking.connect(tracking_received, dispatch_uid="playbooks.email.suppress")

        from leads.privacy.selectors import lead_data_part_register
        from playbooks.privacy import PlaybooksLeadData

        # A lead's export and erasure include what playbooks keep about it.
        lead_data_part_register("playbooks", PlaybooksLeadData())
