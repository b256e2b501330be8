from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from scrm import tenancy
from scrm.models import Brand


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_create_brand_command_clones_the_template(db, brands):
    # when a brand is created from the command line
    call_command("create_brand", "north-star", "--name", "North Star", "--email", "ns@example.com", "--password", "Str0ng-pass!")
    # then its schema has every table of the template, its roles and its admin
    brand = Brand.objects.get(slug="north-star")
    assert _tables(brand.schema_name) == _tables("brand_template")
    assert {"auth_user", "staff_auditentry", "axes_accessattempt"} <= _tables(brand.schema_name)
    with tenant_context(brand):
        assert set(Group.objects.values_list("name", flat=True)) == {"Admin", "Marketer", "Agent"}
        assert User.objects.get(username="admin").groups.get().name == "Admin"
        # the clone carries the migration records, so a no-op migrate has nothing to do
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations")
            assert cursor.fetchone()[0] > 10


def test_brand_data_stays_in_its_own_schema(db, brands):
    with tenant_context(brands["alpha"]):
        User.objects.create_user("only-in-alpha")
    with tenant_context(brands["beta"]):
        assert not User.objects.filter(username="only-in-alpha").exists()
    with schema_context("brand_template"):
        assert not User.objects.filter(username="only-in-alpha").exists()


def test_slug_maps_to_a_schema_one_to_one():
    assert tenancy.schema_for("a-b") == "b_a_b"
    assert tenancy.schema_for("ab") != tenancy.schema_for("a-b")
