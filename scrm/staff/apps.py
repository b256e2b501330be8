from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "scrm.staff"
    label = "staff"
    verbose_name = "Staff and audit"
