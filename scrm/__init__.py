"""SCRM: the project package (settings, tenancy, Celery app, staff and roles)."""

from scrm.celery import app as celery_app

__all__ = ["celery_app"]
