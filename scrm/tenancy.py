"""The few places that cross brands: provisioning, the template schema, beat fan-out.

Everything else runs inside one brand's schema, set by django-tenants (requests) or
tenant-schemas-celery (tasks), and never names a schema.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg.errors
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from scrm.models import Brand, Domain

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9-]{3,40}$")
RESERVED_SLUGS = frozenset(
    {
        "public", "www", "admin", "api", "static", "media", "app", "mail", "smtp", "imap",
        "help", "support", "status", "docs", "blog", "signup", "login", "template",
        "brand-template", "localhost", "test", "root", "system", "scrm",
    }
)


def validate_slug(slug: str) -> None:
    """Raise ValidationError with a message a person can act on."""
    if not SLUG_RE.match(slug):
        raise ValidationError(
            _("Use 3 to 40 characters: lowercase letters, digits and hyphens."), code="malformed"
        )
    if slug.startswith("-") or slug.endswith("-"):
        raise ValidationError(_("The address cannot start or end with a hyphen."), code="malformed")
    if slug in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved. Choose another address.") % {"slug": slug}, code="reserved")
    if Brand.objects.filter(slug=slug).exists():
        raise ValidationError(_("“%(slug)s” is already taken.") % {"slug": slug}, code="taken")


def schema_for(slug: str) -> str:
    # Slugs never contain "_", so the mapping is one-to-one; the prefix keeps brand
    # schemas apart from public, pg_* and the template.
    return "b_" + slug.replace("-", "_")


def host_for(slug: str) -> str:
    return f"{slug}.{settings.SCRM_BASE_DOMAIN}"


def ensure_platform() -> Brand:
    """The public tenant (sign-up host) and the template schema brands are cloned from."""
    public, _created = Brand.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "SCRM", "slug": "public"}
    )
    Domain.objects.get_or_create(
        domain=settings.SCRM_BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    if not Brand.objects.filter(is_template=True).exists():
        # Creating the template runs every tenant migration once; brands then clone it.
        Brand.objects.create(
            schema_name=settings.TENANT_BASE_SCHEMA,
            name="Brand template",
            slug="brand-template",
            is_template=True,
        )
    return public


@dataclass(frozen=True)
class ProvisionedBrand:
    brand: Brand
    host: str
    admin_username: str


def provision_brand(
    *, name: str, slug: str, admin_username: str, admin_email: str, admin_password: str
) -> ProvisionedBrand:
    """Create a brand: schema (cloned from the template), domain and its first Admin."""
    from scrm.staff import services as staff_services

    validate_slug(slug)
    ensure_platform()
    with transaction.atomic():
        brand = Brand(schema_name=schema_for(slug), name=name, slug=slug)
        brand.save()  # creates the schema (auto_create_schema)
        Domain.objects.create(domain=host_for(slug), tenant=brand, is_primary=True)
    with tenant_context(brand):
        user = staff_services.create_first_admin(
            username=admin_username, email=admin_email, password=admin_password
        )
    logger.info("brand provisioned", extra={"brand": slug, "admin": user.username})
    return ProvisionedBrand(brand=brand, host=host_for(slug), admin_username=user.username)


def active_brands() -> Iterator[Brand]:
    yield from Brand.objects.exclude(schema_name=get_public_schema_name()).filter(is_template=False)


def fan_out(task_name: str, *args: object, all_brands: bool = False) -> int:
    """Queue `task_name` once per brand, each in its brand's schema. Returns the count.

    A sweeper that declares `due_sql` (a condition over one brand's tables, naming them
    `{schema}.table`) is queued only for the brands where it holds: every few seconds a
    thousand idle brands cost one statement, not a thousand tasks. `all_brands` queues it
    everywhere regardless (the slower sweep that catches what the condition leaves out)."""
    from scrm.celery import app

    brands = list(active_brands())
    task = app.tasks.get(task_name)
    due_sql = getattr(task, "due_sql", None)
    if due_sql and not all_brands:
        brands = brands_where(due_sql, brands)
    for brand in brands:
        with tenant_context(brand):
            app.send_task(task_name, args=args)
    return len(brands)


PROBE_CHUNK = 200


def brands_where(condition: str, brands: list[Brand]) -> list[Brand]:
    """The brands whose schema satisfies `condition` (`{schema}` stands for the quoted
    schema name), probed in one UNION ALL per PROBE_CHUNK brands. If a probe fails (a schema
    being created or migrated), every brand of its chunk is kept: a sweep too many is harmless."""
    found: set[int] = set()
    quote = connection.ops.quote_name
    for start in range(0, len(brands), PROBE_CHUNK):
        chunk = brands[start:start + PROBE_CHUNK]
        sql = " UNION ALL ".join(
            f"SELECT {int(brand.pk)} WHERE {condition.format(schema=quote(brand.schema_name))}" for brand in chunk
        )
        try:
            with schema_context(get_public_schema_name()), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
                found.update(row[0] for row in cursor.fetchall())
        except DatabaseError:
            logger.warning("fan-out probe failed; sweeping the whole chunk", exc_info=True)
            found.update(brand.pk for brand in chunk)
    return [brand for brand in brands if brand.pk in found]


def in_brand_schema() -> bool:
    return connection.schema_name not in (get_public_schema_name(), settings.TENANT_BASE_SCHEMA)


def drop_brand(brand: Brand, *, attempts: int = 5) -> None:
    """Delete a brand, its domains and its schema (tests, and platform admins).

    DROP SCHEMA locks every table of the brand, one after another; a worker still busy in
    that brand (a sweep, a batch locking rows) can hold one of them while waiting for
    another, and PostgreSQL then aborts one side as a deadlock. The drop is all-or-nothing,
    so it is simply tried again."""
    for attempt in range(1, attempts + 1):
        try:
            with schema_context(get_public_schema_name()), transaction.atomic():
                brand.delete(force_drop=True)
            return
        except OperationalError as error:
            if not isinstance(error.__cause__, psycopg.errors.DeadlockDetected) or attempt == attempts:
                raise
            logger.warning("brand drop deadlocked; retrying", extra={"brand": brand.slug, "attempt": attempt})
            time.sleep(0.2 * attempt)
