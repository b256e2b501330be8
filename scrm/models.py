"""The brand registry, in the public schema: one Brand (tenant) per schema, its Domains."""

import functools
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils.translation import gettext_lazy as _
from django_tenants.clone import CLONE_SCHEMA_FUNCTION, CloneSchema
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists


class Brand(TenantMixin):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    # The reference schema new brands are cloned from; never served, never listed.
    is_template = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Clone the template schema (tables, indexes and its data: migration records,
        content types, roles) instead of replaying every migration: provisioning then costs
        the same with 1 brand or 1,000. django-tenants' own clone path also re-runs
        `migrate_schemas --fake`, which alone takes longer than the clone; the clone already
        copies django_migrations, so that step is skipped."""
        template = settings.TENANT_BASE_SCHEMA
        if self.is_template or not sync_schema or not schema_exists(template):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        clone_schema(template, self.schema_name)
        return True

    def primary_host(self) -> str:
        domain = self.domains.filter(is_primary=True).first()
        return domain.domain if domain else ""


class Domain(DomainMixin):
    pass


@functools.cache
def _clone_function_version() -> str:
    return "scrm clone_schema " + hashlib.sha256(CLONE_SCHEMA_FUNCTION.encode()).hexdigest()[:16]


def clone_schema(source: str, target: str) -> None:
    """Copy `source` (tables, indexes, data) into a new schema `target`.

    django-tenants re-creates its clone_schema function (CREATE OR REPLACE, thousands of
    lines of PL/pgSQL) before every clone; each replacement also leaves the old compiled
    function's plans in the session, so later DDL on that connection slows down. Here the
    function is created only when it is missing or was created from another version of
    django-tenants' source (a hash kept in the function's comment), which halves
    provisioning on a reused connection (bench/RESULTS.md, "clone function created once").
    """
    connection.set_schema_to_public()
    version = _clone_function_version()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p"
            " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = 'clone_schema'"
        )
        installed = {row[0] for row in cursor.fetchall()}
        if installed != {version}:
            CloneSchema()._create_clone_schema_function()
            cursor.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p"
                " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = 'clone_schema'"
            )
            for (signature,) in cursor.fetchall():
                cursor.execute(f"COMMENT ON FUNCTION {signature} IS %s", [version])
        if schema_exists(target, case_sensitive=False):
            raise ValidationError("New schema name already exists")
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [source, target])
    connection.set_schema_to_public()
