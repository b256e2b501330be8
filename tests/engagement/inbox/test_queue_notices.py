"""Telling waiting customers their place in line: once per wait, again only when the
position improved a lot, in the conversation's language, in the brand's wording."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engagement.inbox import notices, services
from engagement.inbox.models import Conversation, CustomerNotice, Message, Team
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory
from tests.engagement.inbox.helpers import agent, deliver, inbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def wechat(brand):  # noqa: ANN001, ANN201
    return make_connector("wechat_oa")


@pytest.fixture
def busy_team(brand):  # noqa: ANN001, ANN201
    team = Team.objects.create(name="Support", is_default=True)
    agent(capacity=0, teams=(team,))
    return team


def _waiting(wechat, n: int, *, language: str = "", at=None) -> list[Conversation]:  # noqa: ANN001
    customers = CustomerFactory.create_batch(n)
    at = at or timezone.now()
    deliver(*[inbound(c, wechat, "help", language=language, at=at + timedelta(seconds=i)) for i, c in enumerate(customers)])
    return list(Conversation.objects.filter(customer__in=customers).order_by("queued_at", "id"))


def _notices(conversation: Conversation) -> list[str]:
    return list(conversation.messages.filter(direction="out").order_by("id").values_list("text", flat=True))


def test_waiting_customers_are_told_their_position_once_per_wait(wechat, busy_team):
    # given three customers waiting while every agent is at capacity
    waiting = _waiting(wechat, 3)
    assert all(c.queued_at and c.assignee_id is None for c in waiting)
    # when the notices run (twice: the pipeline's request and the beat sweep)
    assert notices.notify_queue_positions() == 3
    assert notices.notify_queue_positions() == 0
    # then each was told their own place, once, through the outbox
    assert [_notices(c) for c in waiting] == [
        [f"You are number {n} in line; we'll be with you shortly."] for n in (1, 2, 3)
    ]
    message = Message.objects.filter(conversation=waiting[2], direction="out").get()
    assert message.author is None and message.outbound.payload == {"text": message.text}
    assert message.outbound.recipient == f"o_{waiting[2].customer_id}"


def test_chinese_conversations_get_chinese_and_the_brand_wording_wins(wechat, busy_team):
    CustomerNotice.objects.create(kind="queue_position", language="en", body="<b>Hi</b>! Place {position}. {nope}")
    chinese, english = _waiting(wechat, 1, language="zh")[0], _waiting(wechat, 1, language="en")[0]
    notices.notify_queue_positions()
    assert _notices(chinese) == ["您目前排在第 1 位，我们会尽快为您服务。"]
    assert _notices(english) == ["<b>Hi</b>! Place 2. {nope}"]


def test_told_again_only_when_the_position_improves_a_lot(wechat, busy_team):
    # given ten waiting, each told once
    start = timezone.now()
    waiting = _waiting(wechat, 10, at=start)
    notices.notify_queue_positions(now=start)
    last = waiting[-1]
    # when four ahead are answered, nobody hears again within ten minutes
    for c in waiting[:4]:
        services.resolve(conversation_id=c.pk, actor=agent())
    assert notices.notify_queue_positions(now=start + timedelta(minutes=5)) == 0
    # then later only those whose place at least halved by 3+ places hear (5→1 … 8→4), not 10→6
    assert notices.notify_queue_positions(now=start + timedelta(minutes=30)) == 4
    assert len(_notices(last)) == 1
    # when one more is answered (10→5), the last in line hears the better place
    services.resolve(conversation_id=waiting[4].pk, actor=agent())
    notices.notify_queue_positions(now=start + timedelta(minutes=31))
    assert _notices(last)[-1] == "You are number 5 in line; we'll be with you shortly."


def test_a_new_wait_gets_a_new_notice_and_an_assigned_customer_none(wechat, busy_team):
    conversation = _waiting(wechat, 1)[0]
    notices.notify_queue_positions()
    # when an agent takes it, nothing more is sent
    helper = agent(teams=(busy_team,))
    services.assign(conversation_id=conversation.pk, assignee=helper, actor=helper)
    assert notices.notify_queue_positions() == 0
    # when the agent steps away and it goes back to the queue (a new wait), the customer is told again
    services.set_availability(user=helper, availability="away")
    assert notices.notify_queue_positions() == 1
    assert len(_notices(Conversation.objects.get(pk=conversation.pk))) == 2


def test_no_notice_outside_the_reply_window(wechat, busy_team):
    old = _waiting(wechat, 1, at=timezone.now() - timedelta(hours=49))[0]
    assert notices.notify_queue_positions() == 0
    assert _notices(old) == []
    # and it is not retried every minute
    assert Conversation.objects.get(pk=old.pk).queue_notice_wait is not None
