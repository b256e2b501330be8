"""django-tenants' PostgreSQL backend, sending `SET search_path` only when it changes.

Every request, django-tenants' middleware calls `set_schema_to_public()` then
`set_tenant(brand)`, and each call forgets what the kept-alive connection already has: the
first query of every request paid a `SET search_path`, and, with CONN_HEALTH_CHECKS, a
`SELECT 1` before it. Three round trips where one does (an accepted webhook is one
INSERT). Here the path on the server is remembered, and forgotten whenever the server may
have dropped it (close, rollback, rollback to a savepoint: the same places django-tenants
forgets it); the SET is skipped when it would repeat it, and the health check probes with
the SET when one is due instead of with `SELECT 1`.
"""

from __future__ import annotations

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name
from psycopg import Error as PsycopgError


class DatabaseWrapper(TenantDatabaseWrapper):
    server_search_path: list[str] | None = None

    def _handle_search_path(self, cursor=None) -> None:  # noqa: ANN001
        if not self._setting_search_path and self.schema_name and self.server_search_path is not None:
            wanted = self._get_cursor_search_paths()
            if wanted == self.server_search_path:
                self.search_path_set_schemas = wanted
                return
        super()._handle_search_path(cursor)
        self.server_search_path = self.search_path_set_schemas

    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        wanted = self._get_cursor_search_paths() if self.schema_name else None
        try:
            with self.connection.cursor() as cursor:
                if wanted and wanted != self.server_search_path:
                    cursor.execute("SET search_path = " + ",".join(quote_schema_name(path) for path in wanted))
                    self.server_search_path = self.search_path_set_schemas = wanted
                else:
                    cursor.execute("SELECT 1")
        except PsycopgError:
            self.server_search_path = None
            return False
        return True

    # Forgotten after the call: a savepoint rollback's own cursor may send a SET that the
    # rollback then undoes (django-tenants clears its flag after the rollback for the same reason).
    def close(self) -> None:
        try:
            super().close()
        finally:
            self.server_search_path = None

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.server_search_path = None

    def savepoint_rollback(self, sid) -> None:  # noqa: ANN001
        try:
            super().savepoint_rollback(sid)
        finally:
            self.server_search_path = None
