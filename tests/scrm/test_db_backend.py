"""scrm.db_backend: SET search_path is sent when the server's path changes, not on every
switch of django-tenants' schema (the middleware switches twice per request)."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers.models import Customer


def _sets(context: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in context.captured_queries if query["sql"].startswith("SET search_path")]


def test_search_path_is_set_only_when_the_schema_changes(db, brands):
    alpha, beta = brands["alpha"], brands["beta"]
    connection.set_tenant(alpha)
    Customer.objects.count()
    try:
        with CaptureQueriesContext(connection) as same:
            # what the middleware does at each request for the same brand
            connection.set_schema_to_public()
            connection.set_tenant(alpha)
            Customer.objects.count()
        with CaptureQueriesContext(connection) as other:
            connection.set_tenant(beta)
            Customer.objects.count()
        with CaptureQueriesContext(connection) as after_rollback:
            try:
                with transaction.atomic():
                    Customer.objects.count()
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            Customer.objects.count()  # the rollback may have undone a SET: sent again
    finally:
        connection.set_schema_to_public()

    assert _sets(same) == []
    assert _sets(other) == ['SET search_path = "b_beta","public"']
    assert len(_sets(after_rollback)) == 1


def test_a_schema_switch_undone_by_a_savepoint_rollback_is_sent_again(db, brands):
    alpha, beta = brands["alpha"], brands["beta"]
    connection.set_tenant(alpha)
    Customer.objects.count()  # the server is on alpha
    try:
        try:
            with transaction.atomic():  # a savepoint, taken while on alpha
                connection.set_tenant(beta)
                Customer.objects.count()  # SET to beta, inside the savepoint
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        # the rollback put the server back on alpha; django-tenants still says beta
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == "b_beta"
    finally:
        connection.set_schema_to_public()
