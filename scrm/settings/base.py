"""Settings for every environment, driven by environment variables.

The chain: base.py (this file: everything, read from the environment, nothing that exists
only in production) → tenancy.py (imported here: shared/tenant apps, router) → test.py
(imports base and overrides what tests need). DJANGO_SETTINGS_MODULE picks base or test;
there is no separate production module, because production is base with DEBUG off.

Variables: DATABASE_URL, REDIS_URL (both optional: unset → embedded servers under ./var),
SECRET_KEY, SCRM_BASE_DOMAIN, DEBUG, SCRM_ENCRYPTION_KEY (Fernet), SCRM_LOG_FORMAT.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

from scrm.settings.tenancy import *  # noqa: F403

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    # Development and `make test`: start embedded PostgreSQL / Redis (idempotent).
    from scrm.embedded import ensure_environment

    ensure_environment()

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("SCRM_REQUIRE_SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set")
    # Development only; production deployments set SECRET_KEY (docker-compose.yml does).
    SECRET_KEY = "dev-insecure-" + "k" * 50

# Fernet key for connector secrets. Development derives one from SECRET_KEY so a fresh
# checkout works; production must set it (and keep it: rotating it loses stored secrets).
SCRM_ENCRYPTION_KEY = os.environ.get("SCRM_ENCRYPTION_KEY", "")

SCRM_BASE_DOMAIN = os.environ.get("SCRM_BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = [SCRM_BASE_DOMAIN, "." + SCRM_BASE_DOMAIN, "localhost", ".localhost", "127.0.0.1"]
ALLOWED_HOSTS += [h for h in os.environ.get("SCRM_EXTRA_HOSTS", "").split(",") if h]

DATABASES = {
    "default": {
        **dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True),
        "ENGINE": "scrm.db_backend",  # django-tenants, without repeated SET search_path
    }
}
# No JIT: compiling cost 100–150 ms on every statement the planner thought expensive (a
# segment preview's count at 1M customers: 500 → 390 ms) and gained nothing measurable on
# the score and planning statements (bench/RESULTS.md, session 4).
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["options"] = (DATABASES["default"]["OPTIONS"].get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ["REDIS_URL"]


def redis_db_url(db: int, *, scheme: str = "") -> str:
    """REDIS_URL pointed at database `db`; works for TCP and Unix-socket URLs.

    `scheme` renames a socket URL's scheme for clients that spell it differently
    (kombu and Celery's result backend say "redis+socket").
    """
    url = urlsplit(REDIS_URL)
    if url.scheme == "unix":
        return f"{scheme or 'unix'}://{url.path}?{'virtual_host' if scheme else 'db'}={db}"
    return urlunsplit((url.scheme, url.netloc, f"/{db}", url.query, ""))


REDIS_DB_CACHE, REDIS_DB_BROKER, REDIS_DB_RESULTS = 0, 1, 2

MIDDLEWARE = [
    "scrm.routing.BrandRoutingMiddleware",
    "scrm.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Webhooks and the events API stop here: no session, locale, CSRF, auth or messages.
    "scrm.middleware.MachineEndpointMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: axes must see the authenticated user and the request's tenant.
    "axes.middleware.AxesMiddleware",
]

# Paths where MachineEndpointMiddleware looks for views marked `machine_endpoint`.
MACHINE_PATH_PREFIXES = ("/hooks/", "/api/v1/")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "scrm.navigation.navigation",
            ],
        },
    }
]

WSGI_APPLICATION = "scrm.wsgi.application"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "staff:login"

# Login throttling: 5 failures for one username from one IP lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "staff/locked_out.html"
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from static/ with no collectstatic step
MEDIA_ROOT = BASE_DIR / "var" / "media"
MEDIA_URL = "/media/"
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"

# Cache keys carry the schema (django-tenants' key function): brand A never reads B's.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_db_url(REDIS_DB_CACHE),
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "TIMEOUT": 300,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# SESSION_COOKIE_DOMAIN stays unset: a shared cookie domain would share logins across brands.
SESSION_COOKIE_SECURE = not DEBUG and not env_bool("SCRM_INSECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SCRM <no-reply@scrm.local>")

# Celery: see scrm/celery.py and DESIGN.md ("the broker is not the durable store").
CELERY_BROKER_URL = redis_db_url(REDIS_DB_BROKER, scheme="redis+socket")
CELERY_RESULT_BACKEND = redis_db_url(REDIS_DB_RESULTS, scheme="redis+socket")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ("ingest", "outbound", "analytics", "default")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOG_FORMAT = os.environ.get("SCRM_LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "scrm.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("SCRM_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
