from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Celery autodiscovers customers.tasks only; the import task lives in its package.
        from customers.imports import tasks  # noqa: F401
