"""Which apps live in the public schema and which in every brand's schema.

Imported by base.py. The public schema holds only the brand registry (scrm.Brand and
scrm.Domain); everything a brand owns, its staff, sessions and admin included, lives in
the brand's own schema so a login or a query can never span brands.
"""

SHARED_APPS = [
    "django_tenants",
    "scrm",
    # The public host (sign-up, platform admin) needs these too.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "axes",
    "scrm.staff",
    "customers",
    "channels",
    "segments",
    "engagement",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "scrm.Brand"
TENANT_DOMAIN_MODEL = "scrm.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "scrm.urls_public"
ROOT_URLCONF = "scrm.urls"
# Brands are cloned from this schema (kept migrated by `migrate_schemas`, since it is a
# Brand row itself) instead of running every migration for each new brand.
TENANT_BASE_SCHEMA = "brand_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# An unknown host must be a 404, never the public site (see DESIGN.md, tenancy traps).
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# `SET search_path` once per connection and schema switch, not before every query
# (bench/RESULTS.md, foundation: home-page latency with and without).
TENANT_LIMIT_SET_CALLS = True
# Schemas already up to date are skipped after one read of their django_migrations.
GET_EXECUTOR_FUNCTION = "scrm.schema_migrate.get_executor"
