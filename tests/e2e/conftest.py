"""Playwright drives Debian's chromium (`make test` installs it); Playwright's own browser
download cannot work on these machines."""

import os
import shutil

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls
# (arranging data) are still plain synchronous calls, so Django's guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # noqa: ANN001, ANN201
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def _e2e_timeouts(page):  # noqa: ANN001, ANN202
    # These machines are shared and slow at times: wait longer, never assert less.
    page.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    yield
