from django.apps import AppConfig


class ScrmConfig(AppConfig):
    name = "scrm"
    verbose_name = "SCRM platform"

    def ready(self) -> None:
        from scrm import routing

        routing.connect_signals()
