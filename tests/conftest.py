"""Test harness: real PostgreSQL (embedded or DATABASE_URL), real Redis, real processes.

django-tenants has no pytest support, so this file creates the platform and two brands,
"alpha" and "beta", once per session in the test database (committed), and the `brand`
fixture switches the connection into alpha for one test, inside the usual rolled-back
transaction. Tests that need committed data (a real worker, a real web server, a browser)
use `committed_brand`, which provisions a brand of their own and drops it afterwards.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from scrm import tenancy
from scrm.models import Brand

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "test-pass-123"
_counter = itertools.count()


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb):  # noqa: ANN001, ANN201
    """pytest-django's, except the test database is always created.

    pytest-django creates it only when a collected test is marked django_db; a run of
    just the worker or browser tests (which use committed data, never that mark) would
    otherwise reach the developer's own database."""
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, aliases={"default"}, keepdb=keepdb
        )
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            try:
                teardown_databases(config, verbosity=request.config.option.verbose)
            except Exception as exc:  # noqa: BLE001  (a worker may still hold a connection)
                request.node.warn(pytest.PytestWarning(f"Error when trying to teardown test databases: {exc!r}"))


@pytest.fixture(scope="session")
def brands(django_db_setup, django_db_blocker) -> dict[str, Brand]:  # noqa: ANN001
    from django.core.cache import cache

    assert connection.settings_dict["NAME"].startswith("test_"), "tests must never touch a real database"
    cache.clear()  # the test Redis database: nothing cached by an earlier run survives
    with django_db_blocker.unblock():
        tenancy.ensure_platform()
        made = {}
        for slug in ("alpha", "beta"):
            brand = Brand.objects.filter(slug=slug).first()
            if brand is None:
                brand = tenancy.provision_brand(
                    name=slug.title(), slug=slug, admin_username="founder",
                    admin_email=f"founder@{slug}.example", admin_password=PASSWORD,
                ).brand
            made[slug] = brand
        connection.set_schema_to_public()
    return made


@pytest.fixture
def brand(db, brands) -> Iterator[Brand]:  # noqa: ANN001
    """Alpha, switched into for this test (rolled back afterwards)."""
    connection.set_tenant(brands["alpha"])
    yield brands["alpha"]
    connection.set_schema_to_public()


@pytest.fixture
def other_brand(brands) -> Brand:  # noqa: ANN001
    return brands["beta"]


def make_staff(role: str, username: str | None = None):  # noqa: ANN201
    """A staff user with `role` in the current brand schema."""
    from scrm.staff import services
    from scrm.staff.roles import Role

    username = username or f"{role.lower()}{next(_counter)}"
    return services.create_staff_user(
        username=username, email=f"{username}@example.com", role=Role(role), password=PASSWORD, actor=None
    )


@pytest.fixture
def staff_client(brand):  # noqa: ANN001, ANN201
    """Returns a function role -> (client logged in on alpha's host, user)."""

    def login_as(role: str) -> tuple[Client, object]:
        user = make_staff(role)
        client = Client(HTTP_HOST=brand.primary_host())
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client, user

    return login_as


# --- committed data, real processes -------------------------------------------------


@pytest.fixture
def committed(django_db_blocker) -> Iterator[None]:  # noqa: ANN001
    """Autocommit database access, outside any test transaction."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


@pytest.fixture
def committed_brand(brands, committed) -> Iterator[Brand]:  # noqa: ANN001
    """A freshly provisioned brand (committed), dropped after the test."""
    slug = f"t{os.getpid() % 10000}-{next(_counter)}-{int(time.time() * 1000) % 100000}"
    brand = tenancy.provision_brand(
        name=f"Test {slug}", slug=slug, admin_username="founder",
        admin_email="founder@example.com", admin_password=PASSWORD,
    ).brand
    yield brand
    connection.set_schema_to_public()
    tenancy.drop_brand(brand)


def process_database_url() -> str:
    settings = connection.settings_dict
    host = quote(settings["HOST"] or "", safe="")
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    return f"postgres://{settings['USER']}{password}@{host}{port}/{settings['NAME']}"


def _process_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="scrm.settings.test",
        DATABASE_URL=process_database_url(),
        PYTHONUNBUFFERED="1",
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server_url(brands, django_db_blocker, tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    """A real gunicorn serving the test database. Returns http://localhost:PORT; brands
    are reached at http://<slug>.localhost:PORT (Chromium resolves *.localhost)."""
    port = _free_port()
    with django_db_blocker.unblock():
        env = _process_env()
    log = tmp_path_factory.mktemp("web") / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "scrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4", "--timeout", "60"],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    _wait_for_port(port, proc, log)
    yield f"http://localhost:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


class CeleryWorker:
    def __init__(self, env: dict[str, str], log: Path, *, concurrency: int = 1) -> None:
        self.env, self.log, self.concurrency = env, log, concurrency
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        # Nothing queued by an earlier test or run may leak into this worker.
        import redis
        from django.conf import settings

        redis.Redis.from_url(_redis_py_url(settings.CELERY_BROKER_URL)).flushdb()
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scrm", "worker", "--loglevel", "INFO",
             "-Q", "ingest,outbound,analytics,default", "--concurrency", str(self.concurrency),
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h"],
            cwd=BASE_DIR, env=self.env, stdout=self._out, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while b"ready." not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._out.close()


def _redis_py_url(url: str) -> str:
    if url.startswith("redis+socket://"):
        path, _sep, query = url[len("redis+socket://"):].partition("?")
        return f"unix://{path}?db={query.split('=')[1] if query else 0}"
    return url


@pytest.fixture
def celery_worker(brands, django_db_blocker, tmp_path) -> Iterator[CeleryWorker]:  # noqa: ANN001
    """A real Celery worker process on the test database and the test Redis databases."""
    with django_db_blocker.unblock():
        worker = CeleryWorker(_process_env(), tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1):  # noqa: ANN001, ANN201
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


__all__ = ["PASSWORD", "make_staff", "tenant_context", "wait_until"]
