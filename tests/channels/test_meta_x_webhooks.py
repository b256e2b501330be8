"""Meta (Messenger, Instagram) and X webhooks: handshakes, signatures, batched deliveries."""

import json

from channels import enrichment, hooks, pipeline, signatures
from channels.models import RawEvent
from channels.sandboxes import deliveries
from customers.models import Identity, Interaction
from tests.channels.conftest import make_connector, post


def test_meta_hub_challenge_needs_our_verify_token(brand, hook_client):
    connector = make_connector("facebook")
    url = f"/hooks/{connector.webhook_token}/"
    ok = hook_client.get(url, {"hub.mode": "subscribe", "hub.verify_token": connector.verify_token, "hub.challenge": "31337"})
    assert ok.status_code == 200 and ok.content == b"31337"
    bad = hook_client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "31337"})
    assert bad.status_code == 403


def test_a_batched_messenger_delivery_yields_one_interaction_per_message_and_redelivery_adds_none(brand, hook_client):
    # given a delivery with two entries, three messages in all, one of them our own echo
    connector = make_connector("facebook")
    entries = [
        deliveries.meta_message_entry(page_id="1000", psid="psid-a", text="Where is my order?", mid="m_1"),
        deliveries.meta_message_entry(page_id="1000", psid="psid-b", text="I love it, thanks!", mid="m_2"),
    ]
    entries[1]["messaging"].append({"sender": {"id": "1000"}, "recipient": {"id": "psid-b"}, "timestamp": 1,
                                    "message": {"mid": "m_echo", "text": "our reply", "is_echo": True}})
    heard = []
    callback = hooks.subscribe(lambda batch: heard.extend(batch))
    try:
        delivery = deliveries.meta(app_secret="meta-app-secret", object_type="page", entries=entries)
        # when Meta delivers it, then retries it
        assert post(hook_client, connector, delivery).status_code == 200
        assert post(hook_client, connector, delivery).status_code == 200
        pipeline.process_pending_batch()
    finally:
        hooks.unsubscribe(callback)
    enrichment.score_sentiments(list(Interaction.objects.values_list("id", flat=True)))  # the follow-up task's work
    # then two interactions, scoped PSIDs, English sentiment, and subscribers heard of both
    texts = dict(Interaction.objects.values_list("external_id", "text"))
    assert texts == {"mid:m_1": "Where is my order?", "mid:m_2": "I love it, thanks!"}
    assert Identity.objects.filter(kind="facebook_psid", scope="1000").count() == 2
    assert Interaction.objects.get(external_id="mid:m_2").sentiment > 0.5
    assert sorted(i.external_id for i in heard) == ["mid:m_1", "mid:m_2"]


def test_meta_rejects_a_delivery_signed_with_the_verify_token(brand, hook_client):
    # Meta's own sample signs with the verify token; the platform signs with the app secret.
    connector = make_connector("facebook")
    delivery = deliveries.meta(app_secret=connector.verify_token, object_type="page",
                               entries=[deliveries.meta_message_entry(page_id="1000", psid="p", text="hi", mid="m_9")])
    assert post(hook_client, connector, delivery).status_code == 403
    assert RawEvent.objects.count() == 0


def test_meta_refuses_entries_for_another_page(brand, hook_client):
    connector = make_connector("facebook")
    delivery = deliveries.meta(app_secret="meta-app-secret", object_type="page",
                               entries=[deliveries.meta_message_entry(page_id="9999", psid="p", text="hi", mid="m_9")])
    assert post(hook_client, connector, delivery).status_code == 400
    assert RawEvent.objects.count() == 0


def test_instagram_comments_and_unknown_changes(brand, hook_client):
    connector = make_connector("instagram")
    entries = [{"id": "2000", "time": 1700000000, "changes": [
        {"field": "comments", "value": {"id": "c_1", "text": "😍 <script>alert(1)</script>", "from": {"id": "ig_7", "username": "fan"}, "media": {"id": "med_1"}}},
        {"field": "story_insights", "value": {"impressions": 3}},
    ]}]
    post(hook_client, connector, deliveries.meta(app_secret="meta-app-secret", object_type="instagram", entries=entries))
    pipeline.process_pending_batch()
    comment = Interaction.objects.get()
    assert comment.kind == "comment" and comment.text == "😍 <script>alert(1)</script>"
    raw = RawEvent.objects.get()
    assert raw.status == "done" and raw.unhandled_types == ["change:story_insights:"]


def test_x_crc_answers_the_hmac_of_the_token(brand, hook_client):
    connector = make_connector("x")
    response = hook_client.get(f"/hooks/{connector.webhook_token}/", {"crc_token": "challenge"})
    assert response.json() == {"response_token": signatures.x_signature("x-consumer-secret", b"challenge")}


def test_x_dms_and_mentions_become_interactions_and_a_bad_signature_is_refused(brand, hook_client):
    connector = make_connector("x")
    dm = deliveries.x(consumer_secret="x-consumer-secret",
                      payload=deliveries.x_dm_payload(for_user_id="42", sender_id="777", text="hello there", event_id="e1"))
    mention = deliveries.x(consumer_secret="x-consumer-secret",
                           payload=deliveries.x_mention_payload(for_user_id="42", user_id="778", text="@brand great", tweet_id="t1"))
    assert post(hook_client, connector, dm).status_code == 200
    assert post(hook_client, connector, mention).status_code == 200
    forged = deliveries.x(consumer_secret="wrong", payload=json.loads(dm.body) | {"for_user_id": "42"})
    assert post(hook_client, connector, forged).status_code == 403
    pipeline.process_pending_batch()
    assert dict(Interaction.objects.values_list("external_id", "kind")) == {"dm:e1": "message_in", "tweet:t1": "mention"}
