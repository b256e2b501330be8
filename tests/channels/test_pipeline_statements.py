"""A micro-batch costs a fixed number of statements, whatever its size (DESIGN.md: one
event must not cost one round trip per table), and counts only what is new into profiles."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels import pipeline, services
from channels.sandboxes import deliveries
from customers.models import Customer, Interaction
from tests.channels.conftest import make_connector


def _store_api_events(connector, prefix: str, count: int, *, people: int) -> None:  # noqa: ANN001
    for n in range(count):
        item = {"id": f"{prefix}-{n}", "type": "message", "text": "Love the new collection!" if n % 2 else "快递太慢了",
                "customer": {"email": f"{prefix}-{n % people}@example.com"}}
        delivery = deliveries.scrm_api(api_key=connector.webhook_token, signing_secret="api-signing-secret", items=item)
        services.store_raw_event(connector=connector, body=delivery.body, dedupe_key=item["id"], headers={})


def _statements_for_one_batch() -> int:
    with CaptureQueriesContext(connection) as captured:
        result = pipeline.process_pending_batch()
    assert result.claimed and not result.failed
    return len(captured.captured_queries)


def test_statements_per_batch_do_not_grow_with_the_batch(brand):
    # given a small batch from one connector
    api = make_connector("web_api")
    _store_api_events(api, "small", 6, people=2)
    small = _statements_for_one_batch()
    # when a batch twenty times the size, over ten times the people and from three
    # connectors, is processed
    _store_api_events(api, "large", 40, people=20)
    for n in (2, 3):
        _store_api_events(make_connector("web_api", name=f"site {n}"), f"large-{n}", 40, people=20)
    large = _statements_for_one_batch()
    # then it took the same number of statements
    assert large == small
    assert Interaction.objects.count() == 126


def test_profile_aggregates_count_new_interactions_once_and_agree_with_a_full_refresh(brand):
    from customers.services import refresh_customer_aggregates

    # given events for three people, one of them delivered twice
    api = make_connector("web_api")
    _store_api_events(api, "agg", 9, people=3)
    pipeline.process_pending_batch()
    _store_api_events(api, "agg", 9, people=3)  # redelivered: stored once, counted once
    _store_api_events(api, "more", 3, people=3)
    pipeline.process_pending_batch()
    # when the incremental figures are compared with a full recomputation
    incremental = {c.pk: (c.interaction_counts, c.total_interactions_30d, c.first_seen_at, c.last_seen_at)
                   for c in Customer.objects.all()}
    refresh_customer_aggregates()
    recomputed = {c.pk: (c.interaction_counts, c.total_interactions_30d, c.first_seen_at, c.last_seen_at)
                  for c in Customer.objects.all()}
    # then they agree
    assert incremental == recomputed
    assert sum(total for _counts, total, _first, _last in incremental.values()) == 12


def test_language_is_set_inline_and_sentiment_is_left_for_the_follow_up_task(brand):
    from channels import enrichment

    api = make_connector("web_api")
    _store_api_events(api, "lang", 2, people=1)
    pipeline.process_pending_batch()
    assert sorted(Interaction.objects.values_list("language", "sentiment")) == [("en", None), ("zh", None)]
    # when the follow-up scoring runs (twice: a redelivered task changes nothing)
    ids = list(Interaction.objects.values_list("id", flat=True))
    assert enrichment.score_sentiments(ids) == 2
    assert enrichment.score_sentiments(ids) == 0
    scored = dict(Interaction.objects.values_list("language", "sentiment"))
    assert scored["en"] > 0.5 and scored["zh"] < 0


def test_late_sentiment_reaches_the_conversation_the_message_opened(brand, hook_client):
    from channels import enrichment
    from channels.sandboxes import deliveries as wechat_deliveries
    from engagement.inbox.models import Conversation
    from tests.channels.conftest import post

    # given a WeChat message that opened a conversation before its sentiment was known
    connector = make_connector("wechat_oa")
    delivery = wechat_deliveries.wechat_text(
        token="wechat-token", appid="wx1234567890", original_id="gh_brand", openid="o_angry", text="客服态度很差，太失望了",
        msg_id=4242, encoding_aes_key=connector.secret("encoding_aes_key"),
    )
    assert post(hook_client, connector, delivery).status_code == 200
    pipeline.process_pending_batch()
    conversation = Conversation.objects.get()
    assert conversation.sentiment is None
    # when the follow-up scores it
    enrichment.score_sentiments(list(Interaction.objects.values_list("id", flat=True)))
    # then the conversation's mood carries the score
    conversation.refresh_from_db()
    assert conversation.sentiment == round(Interaction.objects.get().sentiment, 4) < 0


def test_a_late_negative_score_escalates_by_the_negative_sentiment_rules(brand, hook_client):
    from channels import enrichment
    from channels.sandboxes import deliveries as wechat_deliveries
    from engagement.inbox.models import Conversation, Priority, RoutingRule
    from tests.channels.conftest import post

    RoutingRule.objects.create(name="Unhappy customers first", negative_sentiment=True,
                               set_priority=Priority.URGENT, add_labels=["unhappy"])
    connector = make_connector("wechat_oa")
    delivery = wechat_deliveries.wechat_text(
        token="wechat-token", appid="wx1234567890", original_id="gh_brand", openid="o_angry", text="客服态度很差，太失望了",
        msg_id=4243, encoding_aes_key=connector.secret("encoding_aes_key"),
    )
    assert post(hook_client, connector, delivery).status_code == 200
    pipeline.process_pending_batch()
    assert Conversation.objects.get().priority != Priority.URGENT  # not known yet

    enrichment.score_sentiments(list(Interaction.objects.values_list("id", flat=True)))

    conversation = Conversation.objects.get()
    assert conversation.priority == Priority.URGENT and "unhappy" in conversation.labels
