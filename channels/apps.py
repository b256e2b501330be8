from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"

    def ready(self) -> None:
        from channels import customer_data

        customer_data.register()
        from channels import polling  # noqa: F401 - registers the polling Celery tasks
