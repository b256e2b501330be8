"""Pipeline behaviour that is not about one platform: poison events, hooks, hostile text."""

from channels import hooks, pipeline
from channels.models import RawEvent
from channels.sandboxes import deliveries
from customers.models import Interaction
from tests.channels.conftest import make_connector, post


def _api_event(client, connector, item_id: str, text: str = "hello"):
    delivery = deliveries.scrm_api(api_key=connector.webhook_token, signing_secret="api-signing-secret",
                                   items={"id": item_id, "type": "message", "text": text, "customer": {"email": f"{item_id}@example.com"}})
    assert post(client, connector, delivery, path="/api/v1/events").status_code == 202


def test_a_poison_event_is_isolated_and_failed_after_repeated_attempts(brand, hook_client):
    # given three events, one of which a subscriber cannot handle
    connector = make_connector("web_api")
    for item_id in ("ok-1", "poison", "ok-2"):
        _api_event(hook_client, connector, item_id)

    def choke(batch):
        if any(i.external_id == "api:poison" for i in batch):
            raise RuntimeError("subscriber cannot handle this one")

    hooks.subscribe(choke)
    try:
        # when the batch runs
        pipeline.process_pending_batch()
        # then the other two are processed; the poison waits with its error
        assert set(Interaction.objects.values_list("external_id", flat=True)) == {"api:ok-1", "api:ok-2"}
        poison = RawEvent.objects.get(status="pending")
        assert poison.attempts == 1 and "subscriber cannot handle" in poison.error
        # and after the maximum attempts it is failed (a dead letter), never dropped
        for _ in range(pipeline.MAX_ATTEMPTS):
            pipeline.process_pending_batch()
    finally:
        hooks.unsubscribe(choke)
    poison.refresh_from_db()
    assert poison.status == "failed" and poison.attempts == pipeline.MAX_ATTEMPTS


def test_hostile_text_is_stored_as_sent_and_rendered_escaped(brand, hook_client, staff_client):
    connector = make_connector("web_api")
    hostile = "<script>alert('x')</script>\u202e\x00 😀 " + "长" * 100_000
    _api_event(hook_client, connector, "hostile", text=hostile)
    pipeline.process_pending_batch()
    stored = Interaction.objects.get().text
    assert stored.startswith("<script>alert('x')</script>\u202e\ufffd 😀") and len(stored) == len(hostile)
    client, _admin = staff_client("Admin")
    page = client.get(f"/customers/{Interaction.objects.get().customer_id}/").content.decode()
    assert "<script>alert('x')</script>" not in page


def test_processed_deliveries_are_purged_after_the_retention_period_but_dead_letters_stay(brand, hook_client):
    from datetime import timedelta

    from django.utils import timezone

    from channels import services

    connector = make_connector("web_api")
    for item_id in ("old", "fresh"):
        _api_event(hook_client, connector, item_id)
    pipeline.process_pending_batch()
    RawEvent.objects.create(connector=connector, received_at=timezone.now(), body=b"x", dedupe_key="dead",
                            status="failed", processed_at=timezone.now() - timedelta(days=30))
    old = RawEvent.objects.filter(status="done").order_by("id").first()
    RawEvent.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=8))
    assert services.purge_processed_raw_events() == 1
    assert set(RawEvent.objects.values_list("status", flat=True)) == {"done", "failed"}
    assert Interaction.objects.count() == 2  # the timeline keeps what the deliveries said
