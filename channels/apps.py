from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"

    def ready(self) -> None:
        from channels import connector_lookup, customer_data

        customer_data.register()
        connector_lookup.connect_signals()
        from channels import polling  # noqa: F401 - registers the polling Celery tasks
