"""Test settings: base.py plus what makes tests fast and self-contained.

Tests use their own Redis databases (10–12) so a `make up` running beside them is not
disturbed, a fast password hasher, and the in-memory mail outbox.
"""

from scrm.settings.base import *  # noqa: F403
from scrm.settings.base import redis_db_url

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

REDIS_DB_CACHE, REDIS_DB_BROKER, REDIS_DB_RESULTS = 10, 11, 12
CACHES["default"]["LOCATION"] = redis_db_url(REDIS_DB_CACHE)  # noqa: F405
CELERY_BROKER_URL = redis_db_url(REDIS_DB_BROKER, scheme="redis+socket")
CELERY_RESULT_BACKEND = redis_db_url(REDIS_DB_RESULTS, scheme="redis+socket")
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule-test")  # noqa: F405
LOG_FORMAT = "plain"
LOGGING["handlers"]["console"]["formatter"] = "plain"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
