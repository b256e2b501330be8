from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Registers the data-request tasks (they live beside their services, not in a
        # tasks.py that Celery's autodiscovery would find) and the customer-table registry.
        from customers import privacy  # noqa: F401

        # Celery autodiscovers customers.tasks only; the import task lives in its package.
        from customers.imports import tasks  # noqa: F401
