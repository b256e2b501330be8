"""Webhooks skip the browser middleware; brands served in turn on one connection each
still reach their own schema and connectors."""

import pytest
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import tenant_context

from channels.sandboxes import deliveries
from tests.channels.conftest import make_connector


@pytest.fixture(autouse=True)
def back_to_public():
    yield
    connection.set_schema_to_public()


def _event(connector, n: int):  # noqa: ANN001, ANN202
    item = {"id": f"m-{connector.pk}-{n}", "type": "page_view", "customer": {"email": "a@example.com"}}
    return deliveries.scrm_api(api_key=connector.webhook_token, signing_secret="api-signing-secret", items=item)


def _post(client: Client, delivery):  # noqa: ANN001, ANN202
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in delivery.headers.items()}
    return client.post("/api/v1/events", data=delivery.body, content_type=delivery.content_type, **headers)


def test_a_webhook_skips_the_browser_middleware_and_a_page_does_not(db, brands):
    with tenant_context(brands["alpha"]):
        connector = make_connector("web_api")
    client = Client(HTTP_HOST=brands["alpha"].primary_host(), enforce_csrf_checks=True)

    accepted = _post(client, _event(connector, 1))
    schema = client.get("/api/v1/openapi.json")  # same prefix, an ordinary view

    assert accepted.status_code == 202
    assert accepted["Content-Length"] == str(len(accepted.content))
    # no session cookie, no language negotiation: the browser middleware did not run
    assert not accepted.cookies and not accepted.has_header("Content-Language") and not accepted.has_header("Vary")
    assert schema.status_code == 200 and schema["Content-Language"] == "en"


def test_webhook_answers_carry_the_security_headers_even_when_refused(db, brands):
    with tenant_context(brands["alpha"]):
        connector = make_connector("web_api")
    client = Client(HTTP_HOST=brands["alpha"].primary_host())

    accepted = _post(client, _event(connector, 1))
    unknown_hook = client.post("/hooks/no-such-token/", data=b"{}", content_type="application/json")

    assert (accepted.status_code, unknown_hook.status_code) == (202, 404)
    # a machine gets a plain answer: no HTML page, no cookie
    assert unknown_hook["Content-Type"].startswith("text/plain") and not unknown_hook.cookies
    for response in (accepted, unknown_hook):
        assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"


def test_brands_served_in_turn_on_one_connection_each_use_their_own_schema(db, brands):
    alpha, beta = brands["alpha"], brands["beta"]
    with tenant_context(alpha):
        alpha_api = make_connector("web_api")
    with tenant_context(beta):
        beta_api = make_connector("web_api")
    to_alpha, to_beta = Client(HTTP_HOST=alpha.primary_host()), Client(HTTP_HOST=beta.primary_host())

    statuses = []
    for n in range(3):
        statuses += [_post(to_alpha, _event(alpha_api, n)).status_code, _post(to_beta, _event(beta_api, n)).status_code,
                     _post(to_alpha, _event(beta_api, 10 + n)).status_code]

    assert statuses == [202, 202, 401] * 3  # beta's key means nothing on alpha's host
    for brand, connector in ((alpha, alpha_api), (beta, beta_api)):
        with tenant_context(brand):
            assert connector.raw_events.count() == 3


def test_a_webhook_is_not_preceded_by_a_connection_probe(db, brands, monkeypatch):
    from django.test import RequestFactory

    from scrm.middleware import MachineEndpointMiddleware

    with tenant_context(brands["alpha"]):
        connector = make_connector("web_api")
        probes = []
        monkeypatch.setattr(connections["default"], "is_usable", lambda: probes.append(1) or True)
        assert connection.health_check_enabled  # CONN_HEALTH_CHECKS is on for every other request
        connection.health_check_done = False  # as at the start of every request
        delivery = _event(connector, 1)
        headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in delivery.headers.items()}
        request = RequestFactory().post("/api/v1/events", data=delivery.body, content_type=delivery.content_type, **headers)
        request.tenant = brands["alpha"]

        response = MachineEndpointMiddleware(lambda _request: None)(request)

        assert response.status_code == 202 and connector.raw_events.count() == 1
        assert probes == []
