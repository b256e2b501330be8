"""The channels hook: inbound messages land in conversations, get routed, assigned or queued."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.merging import merge
from customers.models import MergeRule
from engagement.inbox import services
from engagement.inbox.models import Conversation, Message, Priority, RoutingRule, Team
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory
from tests.engagement.inbox.helpers import agent, deliver, inbound, tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def wechat(brand):  # noqa: ANN001, ANN201
    return make_connector("wechat_oa")


def test_a_first_message_opens_a_conversation_with_sla_due_times(wechat):
    # given a customer writing for the first time
    customer = CustomerFactory()
    # when the pipeline publishes the message
    deliver(inbound(customer, wechat, "你好 <script>alert(1)</script>", language="zh", sentiment=0.2))
    # then one open conversation holds it, with the SLA clock running
    conversation = Conversation.objects.get()
    assert (conversation.customer_id, conversation.connector_id, conversation.status) == (customer.pk, wechat.pk, "open")
    assert conversation.unread_count == 1 and conversation.language == "zh"
    assert conversation.first_response_due_at > conversation.awaiting_since
    assert conversation.resolution_due_at > conversation.first_response_due_at
    message = conversation.messages.get()
    assert message.direction == Message.Direction.IN and message.text.startswith("你好 <script>")


def test_a_batch_files_many_messages_with_a_fixed_number_of_queries(wechat, django_assert_max_num_queries):
    customers = CustomerFactory.create_batch(30)
    items = [inbound(customer, wechat, f"m{n}") for n in range(2) for customer in customers]
    with django_assert_max_num_queries(14):
        deliver(*items)
    assert Conversation.objects.count() == 30
    assert Message.objects.count() == 60
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {2}


def test_a_resolved_conversation_reopens_on_a_new_message(wechat):
    customer = CustomerFactory()
    owner = agent()
    deliver(inbound(customer, wechat, "first"))
    conversation = Conversation.objects.get()
    services.resolve(conversation_id=conversation.pk, actor=owner)
    # when the customer writes again
    deliver(inbound(customer, wechat, "again"))
    # then the same conversation is open again with a new episode
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.resolved_at is None
    # (the third message is the satisfaction request sent on resolve)
    assert Conversation.objects.count() == 1 and conversation.messages.filter(direction="in").count() == 2


def test_routing_rules_set_priority_team_and_labels(wechat):
    vip_team = Team.objects.create(name="VIP desk")
    RoutingRule.objects.create(name="VIPs", customer_tags=["VIP"], set_priority=Priority.URGENT, set_team=vip_team, add_labels=["vip"])
    RoutingRule.objects.create(name="Angry", negative_sentiment=True, set_priority=Priority.HIGH, add_labels=["unhappy"])
    vip = CustomerFactory()
    tag(vip, "VIP")
    plain = CustomerFactory()
    deliver(inbound(vip, wechat, "hi", sentiment=-0.9), inbound(plain, wechat, "hi", sentiment=0.5))
    routed = Conversation.objects.get(customer=vip)
    assert (routed.team_id, routed.priority, routed.labels) == (vip_team.pk, Priority.URGENT, ["vip", "unhappy"])
    other = Conversation.objects.get(customer=plain)
    assert (other.team_id, other.priority, other.labels) == (None, Priority.NORMAL, [])


def test_assignment_within_capacity_then_queue_then_the_freed_slot_takes_the_head(wechat):
    team = Team.objects.create(name="Support", is_default=True)
    only = agent(capacity=1, teams=(team,))
    first, second, third = CustomerFactory.create_batch(3)
    now = timezone.now()
    deliver(inbound(first, wechat, "1", at=now - timedelta(minutes=3)))
    deliver(inbound(second, wechat, "2", at=now - timedelta(minutes=2)))
    RoutingRule.objects.create(name="urgent", keywords=["urgent"], set_priority=Priority.URGENT)
    deliver(inbound(third, wechat, "urgent!", at=now - timedelta(minutes=1)))
    c1, c2, c3 = (Conversation.objects.get(customer=c) for c in (first, second, third))
    # the agent holds one; the others wait, the urgent one at the head of the queue
    assert c1.assignee_id == only.pk and c2.assignee_id is None and c3.assignee_id is None
    assert services.queue_position(c3) == 1 and services.queue_position(c2) == 2
    # when the agent resolves the first, the freed slot takes the head (urgent) conversation
    services.resolve(conversation_id=c1.pk, actor=only)
    c2.refresh_from_db()
    c3.refresh_from_db()
    assert c3.assignee_id == only.pk and c2.assignee_id is None


def test_agents_away_get_nothing_and_going_online_drains_the_queue(wechat):
    team = Team.objects.create(name="Support", is_default=True)
    away = agent(online=False, teams=(team,))
    deliver(inbound(CustomerFactory(), wechat))
    conversation = Conversation.objects.get()
    assert conversation.assignee_id is None and conversation.queued_at is not None
    services.set_availability(user=away, availability="online")
    conversation.refresh_from_db()
    assert conversation.assignee_id == away.pk and conversation.queued_at is None


def test_an_assignee_who_misses_the_sla_loses_the_conversation_to_a_colleague(wechat):
    team = Team.objects.create(name="Support", is_default=True, strategy=Team.Strategy.LEAST_BUSY)
    slow = agent(teams=(team,))
    deliver(inbound(CustomerFactory(), wechat))
    conversation = Conversation.objects.get()
    assert conversation.assignee_id == slow.pk
    colleague = agent(teams=(team,))
    # when the beat task runs after the due time
    moved = services.reassign_overdue(now=conversation.first_response_due_at + timedelta(minutes=1))
    # then a colleague holds it, it is marked as having missed the SLA, with a new target
    conversation.refresh_from_db()
    assert moved == 1
    assert conversation.assignee_id == colleague.pk and conversation.sla_breached and conversation.reassignments == 1


def test_merging_customers_moves_their_conversations(wechat):
    kept, merged = CustomerFactory(), CustomerFactory()
    deliver(inbound(merged, wechat))
    merge(kept, merged, rule=MergeRule.MANUAL)
    assert Conversation.objects.get().customer_id == kept.pk


def test_nul_bytes_from_the_platform_are_stored_safely(wechat):
    item = inbound(CustomerFactory(), wechat, "a\x00b")
    deliver(replace(item, metadata={**item.metadata, "picurl": "https://x.example/\x00.png"}))
    message = Message.objects.get()
    assert message.text == "a\ufffdb" and message.attachments[0]["url"] == "https://x.example/\ufffd.png"


def test_other_interaction_kinds_do_not_open_conversations(wechat):
    item = inbound(CustomerFactory(), wechat)
    deliver(type(item)(**{**item.__dict__, "kind": "follow"}))
    assert not Conversation.objects.exists()


def test_a_late_sentiment_score_changes_the_inbox_list_fingerprint(wechat):
    from channels import hooks
    from engagement.inbox import selectors

    # given a conversation whose message arrived unscored
    RoutingRule.objects.create(name="Angry", negative_sentiment=True, set_priority=Priority.HIGH, add_labels=["unhappy"])
    deliver(inbound(CustomerFactory(), wechat, "客服态度很差"))
    conversation = Conversation.objects.get()
    before = selectors.inbox_fingerprint()
    # when its score arrives (negative) and escalates it
    hooks.publish_sentiments([(conversation.messages.get().interaction_id, -0.9)])
    # then the agents' lists are told something changed (their ETag follows the fingerprint)
    conversation.refresh_from_db()
    assert conversation.sentiment < 0 and conversation.priority == Priority.HIGH
    assert selectors.inbox_fingerprint() != before
