"""The migrate_schemas executor skips up-to-date schemas and never skips a behind one."""

from django.db import connection

from scrm.schema_migrate import expected_migrations, get_executor, schemas_behind


def test_up_to_date_schemas_are_skipped_and_a_behind_one_is_not(db, brands):
    expected = expected_migrations()
    assert expected and ("customers", "0001_initial") in expected
    schemas = [brands["alpha"].schema_name, brands["beta"].schema_name]
    assert schemas_behind(schemas, expected) == []

    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute(
            f"DELETE FROM {brands['beta'].schema_name}.django_migrations "
            "WHERE app = 'customers' AND name = '0001_initial'"
        )
    assert schemas_behind(schemas, expected) == [brands["beta"].schema_name]


def test_a_schema_without_a_migrations_table_is_behind(db, brands):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA b_never_migrated")
    assert schemas_behind(["b_never_migrated"], expected_migrations()) == ["b_never_migrated"]


def test_unusual_options_go_to_the_stock_executor(db, brands, monkeypatch):
    executor_class = get_executor("standard")
    stock = executor_class.__mro__[1]
    passed_on = []
    monkeypatch.setattr(stock, "run_migrations", lambda self, tenants: passed_on.append(list(tenants)))
    schemas = [brands["alpha"].schema_name, brands["beta"].schema_name]

    executor_class([], {"plan": True, "verbosity": 0}).run_migrations(schemas)  # untouched
    executor_class([], {"verbosity": 0}).run_migrations(schemas)  # both up to date: skipped

    assert passed_on == [schemas]
