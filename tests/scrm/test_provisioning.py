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


def _clone_function_rows() -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::int, p.xmin::text FROM pg_proc p"
            " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = 'clone_schema'"
        )
        return sorted(cursor.fetchall())


def test_clone_function_is_created_once_and_again_only_when_missing(db, brands):
    # given one brand provisioned, which installs the clone function
    tenancy.provision_brand(name="First", slug="clone-one", admin_username="a", admin_email="a@example.com",
                            admin_password="Str0ng-pass!")
    installed = _clone_function_rows()
    assert installed
    # when another brand is provisioned on the same connection
    tenancy.provision_brand(name="Second", slug="clone-two", admin_username="a", admin_email="a@example.com",
                            admin_password="Str0ng-pass!")
    # then the function was not replaced (same row version), and the clone is complete
    assert _clone_function_rows() == installed
    assert _tables("b_clone_two") == _tables("brand_template")
    # and when the function is gone (or from another django-tenants version), it is recreated
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION public.clone_schema")
    tenancy.provision_brand(name="Third", slug="clone-three", admin_username="a", admin_email="a@example.com",
                            admin_password="Str0ng-pass!")
    assert _clone_function_rows() and _clone_function_rows() != installed
    assert _tables("b_clone_three") == _tables("brand_template")
