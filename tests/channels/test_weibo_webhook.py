"""Weibo fan-service push: URL verification, signed pushes, retries deduped."""

from channels import pipeline, signatures
from channels.models import RawEvent
from channels.sandboxes import deliveries
from customers.models import Interaction
from tests.channels.conftest import make_connector, post


def test_verification_and_a_retried_push_make_one_interaction(brand, hook_client):
    connector = make_connector("weibo")
    query = {"timestamp": "1700000000", "nonce": "9", "echostr": "weibo-echo"}
    query["signature"] = signatures.sha1_sorted("weibo-app-secret", "1700000000", "9")
    assert hook_client.get(f"/hooks/{connector.webhook_token}/", query).content == b"weibo-echo"
    push = {"app_secret": "weibo-app-secret", "receiver_id": "5550001", "sender_id": "1234", "text": "什么时候发货？",
            "created_at": "Mon Nov 23 12:00:00 +0800 2026"}
    for _retry in range(3):
        assert post(hook_client, connector, deliveries.weibo_push(**push)).status_code == 200
    follow = deliveries.weibo_push(**{**push, "text": ""}, push_type="event", data={"subtype": "follow"})
    post(hook_client, connector, follow)
    pipeline.process_pending_batch()
    assert RawEvent.objects.count() == 2
    assert sorted(Interaction.objects.values_list("kind", flat=True)) == ["follow", "message_in"]


def test_a_push_signed_with_another_secret_or_for_another_account_is_refused(brand, hook_client):
    connector = make_connector("weibo")
    forged = deliveries.weibo_push(app_secret="guess", receiver_id="5550001", sender_id="1", text="x")
    other = deliveries.weibo_push(app_secret="weibo-app-secret", receiver_id="999", sender_id="1", text="x")
    assert post(hook_client, connector, forged).status_code == 403
    assert post(hook_client, connector, other).status_code == 400
    assert RawEvent.objects.count() == 0
