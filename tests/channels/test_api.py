"""Our events and orders API: signed requests, replay window, per-item errors, idempotency."""

import time
from decimal import Decimal

from channels import pipeline
from channels.models import RawEvent
from channels.sandboxes import deliveries
from customers.models import Customer, Identity, Interaction, Order
from tests.channels.conftest import make_connector, post


def _send(client, connector, items, *, path="/api/v1/events", timestamp=None, secret=None):
    delivery = deliveries.scrm_api(api_key=connector.webhook_token, signing_secret=secret or connector.secret("signing_secret"),
                                   items=items, timestamp=timestamp)
    return post(client, connector, delivery, path=path)


def test_events_are_idempotent_by_item_id_and_merge_on_email(brand, hook_client):
    connector = make_connector("web_api")
    items = [
        {"id": "e1", "type": "page_view", "customer": {"email": "Ann@Example.com"}, "url": "https://shop/1"},
        {"id": "e2", "type": "share", "customer": {"email": "ann@example.com"}, "occurred_at": "2025-06-01T10:00:00+08:00"},
        {"id": "e3", "type": "hologram", "customer": {"email": "ann@example.com"}},
    ]
    response = _send(hook_client, connector, items)
    assert response.status_code == 202 and response.json() == {"accepted": 3}
    # the client retries the same items in a new request
    assert _send(hook_client, connector, items[:2]).status_code == 202
    pipeline.process_pending_batch()
    assert Interaction.objects.count() == 2
    assert Customer.objects.count() == 1
    assert Identity.objects.get().value == "ann@example.com"
    assert RawEvent.objects.filter(unhandled_types=["hologram"]).count() == 1


def test_invalid_items_are_listed_with_reasons_and_nothing_is_stored(brand, hook_client):
    connector = make_connector("web_api")
    items = [{"id": "ok", "type": "click", "customer": {"email": "a@b.co"}}, {"id": "bad", "type": "click", "customer": {}}]
    response = _send(hook_client, connector, items)
    assert response.status_code == 400
    assert response.json()["items"][0]["index"] == 1 and "customer" in response.json()["items"][0]["reason"]
    assert RawEvent.objects.count() == 0


def test_signature_replay_window_and_api_key(brand, hook_client):
    connector = make_connector("web_api")
    item = {"id": "e1", "type": "click", "customer": {"email": "a@b.co"}}
    assert _send(hook_client, connector, item, timestamp=int(time.time()) - 301).status_code == 403
    assert _send(hook_client, connector, item, secret="not-the-secret").status_code == 403
    wrong_key = deliveries.scrm_api(api_key="nope", signing_secret="api-signing-secret", items=item)
    assert post(hook_client, connector, wrong_key, path="/api/v1/events").status_code == 401
    # an orders key does not open the events endpoint
    orders = make_connector("orders")
    assert _send(hook_client, orders, item).status_code == 401
    assert RawEvent.objects.count() == 0


def test_orders_and_refunds_update_orders_and_the_profile(brand, hook_client):
    connector = make_connector("orders")
    items = [
        {"id": "SO-1", "type": "order", "amount": "199.00", "customer": {"phone": "13800138000", "name": "王芳"}, "items": [{"sku": "A1", "qty": 1}]},
        {"id": "SO-2", "type": "order", "amount": "50.5", "customer": {"phone": "+86 138 0013 8000"}},
    ]
    assert _send(hook_client, connector, items, path="/api/v1/orders").status_code == 202
    pipeline.process_pending_batch()
    assert _send(hook_client, connector, {"id": "RF-1", "type": "refund", "order_id": "SO-2", "customer": {"phone": "13800138000"}},
                 path="/api/v1/orders").status_code == 202
    pipeline.process_pending_batch()
    customer = Customer.objects.get()
    assert customer.display_name == "王芳"
    assert customer.order_count == 1 and customer.revenue == Decimal("199.00")
    assert dict(Order.objects.values_list("external_id", "status")) == {"SO-1": "paid", "SO-2": "refunded"}
    assert Interaction.objects.filter(kind="purchase").count() == 2


def test_the_openapi_schema_is_served_without_login(brand, hook_client):
    schema = hook_client.get("/api/v1/openapi.json").json()
    assert set(schema["paths"]) == {"/api/v1/events", "/api/v1/orders"}
    assert "X-SCRM-Signature" in schema["info"]["description"]


def test_a_connector_over_its_rate_limit_is_answered_429_with_retry_after(brand, hook_client, monkeypatch):
    from channels import coordination

    # given a connector allowed 200 deliveries a second
    connector = make_connector("web_api", config={"rate_limit_per_second": 200})
    monkeypatch.setattr(coordination.time, "time", lambda: 1_900_000_100.5)  # one wall-clock second
    # when 205 deliveries arrive within that second
    answers = [_send(hook_client, connector, {"id": f"e{n}", "type": "click", "customer": {"email": "a@b.co"}})
               for n in range(205)]
    # then exactly the allowance is accepted and the rest told when to come back
    codes = [answer.status_code for answer in answers]
    assert codes.count(202) == 200 and codes[200:] == [429] * 5
    assert answers[-1]["Retry-After"] == "1"
    assert RawEvent.objects.count() == 200

