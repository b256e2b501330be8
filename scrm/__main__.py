"""Command-line entry: `python -m scrm up | migrate`.

`up` is what `make up` runs: embedded PostgreSQL/Redis when DATABASE_URL / REDIS_URL are
unset, every schema migrated, the demo brand seeded once, then web + Celery worker + beat
in the foreground until Ctrl-C, which stops them all.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _setup_django() -> dict[str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    from scrm.embedded import ensure_environment

    started = ensure_environment()
    import django

    django.setup()
    return started


def migrate() -> None:
    from django.core.management import call_command

    from scrm import tenancy

    call_command("migrate_schemas", "--shared", interactive=False, verbosity=0)
    tenancy.ensure_platform()
    # Tenants (the template first: it is a Brand row) in parallel-safe sequence.
    call_command("migrate_schemas", "--tenant", interactive=False, verbosity=0)


def up(args: argparse.Namespace) -> int:
    os.environ.setdefault("DEBUG", "1")
    embedded = _setup_django()
    from django.core.management import call_command

    print("• migrating every schema…", flush=True)
    migrate()
    call_command("seed_demo")
    port = str(args.port)
    env = dict(os.environ)
    processes = {
        "web": [sys.executable, "-m", "gunicorn", "scrm.wsgi:application", "--bind", f"0.0.0.0:{port}",
                "--config", str(BASE_DIR / "scrm" / "gunicorn.conf.py")],
        "worker": [sys.executable, "-m", "celery", "-A", "scrm", "worker", "--loglevel", "INFO",
                   "-Q", "ingest,outbound,analytics,default", "--concurrency", "2"],
        "beat": [sys.executable, "-m", "celery", "-A", "scrm", "beat", "--loglevel", "INFO",
                 "--schedule", str(BASE_DIR / "var" / "celerybeat-schedule")],
    }
    if not args.no_traffic:
        processes["traffic"] = [sys.executable, "-m", "scrm", "demo-traffic", "--port", port]
    children = {name: subprocess.Popen(cmd, env=env, cwd=BASE_DIR) for name, cmd in processes.items()}
    print(f"\n  SCRM is up:  http://demo.localhost:{port}/   (sign-up: http://localhost:{port}/)")
    print("  Demo logins (demo only): admin / marketer / agent, password demo12345")
    if not args.no_traffic:
        print("  Live sandbox traffic flows into the demo brand every 10 s (--no-traffic to turn it off).")
    print("  Ctrl-C stops web, worker and beat" + (" and the embedded servers." if embedded else "."), flush=True)

    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the rest", flush=True)
                exit_code, stopping = child.returncode or 1, True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    if embedded:
        from scrm import embedded as servers

        servers.stop_redis()
        servers.stop_postgres()
    print("stopped.", flush=True)
    return exit_code


def demo_traffic(args: argparse.Namespace) -> int:
    """Live sandbox traffic for the demo brand: a few signed webhooks every few seconds,
    through the real accept path, so the inbox, timelines and dashboards move."""
    _setup_django()
    from django.core.management import call_command

    time.sleep(args.every)  # let the web server start
    round_number = 0
    while True:
        round_number += 1
        try:
            call_command("drive_sandbox_traffic", "--brand", "demo", "--events", str(args.events),
                         "--base-url", f"http://127.0.0.1:{args.port}", "--concurrency", "2",
                         "--seed", str(1000 + round_number), stdout=io.StringIO())
        except Exception as error:  # noqa: BLE001 - the demo keeps going; the next round retries
            print(f"demo traffic: round {round_number} failed: {error}", flush=True)
        time.sleep(args.every)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scrm")
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start everything (what `make up` runs)")
    up_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    up_parser.add_argument("--no-traffic", action="store_true", help="no live sandbox traffic into the demo brand")
    traffic = sub.add_parser("demo-traffic", help="keep sending sandbox webhooks into the demo brand")
    traffic.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    traffic.add_argument("--every", type=float, default=10.0, help="seconds between rounds")
    traffic.add_argument("--events", type=int, default=3, help="webhooks per round")
    sub.add_parser("migrate", help="migrate the public schema, the template and every brand")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args)
    if args.command == "demo-traffic":
        return demo_traffic(args)
    _setup_django()
    migrate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
