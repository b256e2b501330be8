from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        from engagement.campaigns import wiring as campaign_wiring

        campaign_wiring.connect()
