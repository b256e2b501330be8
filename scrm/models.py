"""The brand registry, in the public schema: one Brand (tenant) per schema, its Domains."""

from django.conf import settings
from django.db import connection, models
from django.utils.translation import gettext_lazy as _
from django_tenants.clone import CloneSchema
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
        CloneSchema().clone_schema(template, self.schema_name, "DATA")
        connection.set_schema_to_public()
        return True

    def primary_host(self) -> str:
        domain = self.domains.filter(is_primary=True).first()
        return domain.domain if domain else ""


class Domain(DomainMixin):
    pass
