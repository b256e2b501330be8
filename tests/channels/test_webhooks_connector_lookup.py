"""The accept path remembers connectors per process; a change to a connector is seen at
once by the process that made it and within about a second by every other process."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from channels import connector_lookup, services
from channels.sandboxes import deliveries
from channels.sandboxes.base import WebhookSender
from tests.channels.conftest import make_connector
from tests.conftest import wait_until


def _disable(connector) -> None:  # noqa: ANN001
    services.update_connector(connector=connector, name=connector.name, enabled=False, config=connector.config,
                              secrets={}, actor=None)


def test_a_disabled_connector_is_forgotten_by_the_process_that_saved_it(brand):
    # given a connector the accept path has looked up (and so remembers)
    connector = make_connector("web_api")
    assert connector_lookup.enabled_connector(token=connector.webhook_token, kind="web_api").pk == connector.pk
    assert connector_lookup.enabled_connector(token=connector.webhook_token, kind="orders") is None
    # when it is disabled
    _disable(connector)
    # then the next lookup does not find it
    assert connector_lookup.enabled_connector(token=connector.webhook_token, kind="web_api") is None


def test_lookups_are_per_brand(brand, other_brand):
    connector = make_connector("web_api")
    assert connector_lookup.enabled_connector(token=connector.webhook_token) is not None
    with tenant_context(other_brand):
        assert connector_lookup.enabled_connector(token=connector.webhook_token) is None


def test_a_lookup_hands_out_copies(brand):
    connector = make_connector("web_api")
    first = connector_lookup.enabled_connector(token=connector.webhook_token)
    first.name = "changed by one request"
    assert connector_lookup.enabled_connector(token=connector.webhook_token).name == connector.name


@pytest.mark.worker
def test_a_connector_disabled_elsewhere_is_refused_by_the_web_server_within_seconds(live_server_url, committed_brand):
    # given a web server that has accepted (and so remembers) a connector's deliveries
    with tenant_context(committed_brand):
        connector = make_connector("web_api")
    sender = WebhookSender(live_server_url, committed_brand.primary_host())

    def deliver(n: int) -> int:
        item = {"id": f"e-{n}", "type": "page_view", "customer": {"email": "a@example.com"}}
        delivery = deliveries.scrm_api(api_key=connector.webhook_token, signing_secret="api-signing-secret", items=item)
        return sender.post("/api/v1/events", delivery).status

    assert [deliver(n) for n in range(4)] == [202] * 4
    # when an admin disables it (in this process, not the server's)
    with tenant_context(committed_brand):
        _disable(connector)
    # then the server refuses its deliveries soon after (every gunicorn process)
    attempts = iter(range(100, 10_000))
    wait_until(lambda: all(deliver(next(attempts)) == 401 for _ in range(8)), timeout=10, interval=0.2)
