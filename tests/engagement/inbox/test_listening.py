"""Listening: public comments and mentions become Mentions via the hook; dashboard, feed,
monitor creation, one-click conversation, escaping, roles and isolation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from engagement.inbox.models import Conversation, Mention, Monitor
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory
from tests.engagement.inbox.helpers import deliver, inbound

pytestmark = pytest.mark.django_db


def public(customer, connector, text: str, kind: str = "comment", **metadata):  # noqa: ANN001, ANN003, ANN201
    item = inbound(customer, connector, text, metadata=metadata)
    return type(item)(**{**item.__dict__, "kind": kind})


@pytest.fixture
def x(brand):  # noqa: ANN001, ANN201
    return make_connector("x")


def test_matching_comments_and_mentions_become_mentions(x):
    refunds = Monitor.objects.create(name="Refunds", query="退款 OR refund -thanks")
    Monitor.objects.create(name="Shoes on X only", query="shoes", channels=["facebook"])
    customer = CustomerFactory()
    deliver(
        public(customer, x, "我要退款！", screen_name="angry_li", followers_count=1200),
        public(customer, x, "refund received, thanks", kind="mention"),
        public(customer, x, "Refund please @brand", kind="mention"),
        public(customer, x, "love the shoes"),
        inbound(customer, x, "refund via DM is not public"),
    )
    found = list(Mention.objects.order_by("id").values_list("monitor__name", "text", "author", "reach"))
    assert found == [("Refunds", "我要退款！", "angry_li", 1200), ("Refunds", "Refund please @brand", f"o_{customer.pk}", 0)]
    assert refunds.mentions.count() == 2


def test_dashboard_feed_and_monitor_creation(staff_client, x):
    client, _user = staff_client("Marketer")
    monitor = Monitor.objects.create(name="Brand", query='"big sale" OR 打折')
    deliver(public(CustomerFactory(), x, "今天打折吗 <script>alert(1)</script>"))
    page = client.get(reverse("engagement:listening"), {"monitor": monitor.pk})
    body = page.content.decode()
    assert page.status_code == 200 and "今天打折吗 &lt;script&gt;" in body and "<script>alert(1)" not in body
    feed_url = reverse("engagement:listening-feed")
    etag = client.get(feed_url, {"monitor": monitor.pk})["ETag"]
    assert client.get(feed_url, {"monitor": monitor.pk}, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # creating a monitor validates its query
    bad = client.post(reverse("engagement:listening-monitor-create"), {"name": "Bad", "query": '"open'})
    assert 'data-testid="error-query"' in bad.content.decode() and not Monitor.objects.filter(name="Bad").exists()
    good = client.post(reverse("engagement:listening-monitor-create"), {"name": "Good", "query": "refund OR 退款", "languages": "zh, en"})
    assert good.status_code == 302 and Monitor.objects.get(name="Good").languages == ["zh", "en"]


def test_a_mention_becomes_an_inbox_conversation_in_one_click(staff_client, x):
    client, _user = staff_client("Marketer")
    Monitor.objects.create(name="Help", query="help")
    customer = CustomerFactory()
    deliver(public(customer, x, "help! my order is lost", kind="mention"))
    mention = Mention.objects.get()
    response = client.post(reverse("engagement:listening-mention-reply", args=[mention.pk]))
    conversation = Conversation.objects.get(customer=customer)
    assert response.status_code == 302 and response["Location"].endswith(f"/inbox/c/{conversation.pk}/")
    assert conversation.status == "open" and conversation.messages.get().text == "help! my order is lost"
    client.post(reverse("engagement:listening-mention-reply", args=[mention.pk]))
    assert conversation.messages.count() == 1  # a second click adds nothing


def test_agents_cannot_see_listening_and_other_brands_ids_are_404(staff_client, x, brand, other_brand):
    agent, _user = staff_client("Agent")
    assert agent.get(reverse("engagement:listening")).status_code == 403
    client, _user = staff_client("Marketer")
    connection.set_tenant(other_brand)
    monitor = Monitor.objects.create(name="Beta secret", query="secret")
    deliver(public(CustomerFactory(), make_connector("x", name="beta x"), "secret plans"))
    mention_id = Mention.objects.get().pk
    connection.set_tenant(brand)
    assert not Mention.objects.filter(pk=mention_id).exists()
    assert client.get(reverse("engagement:listening"), {"monitor": monitor.pk}).status_code == 404
    assert client.get(reverse("engagement:listening-feed"), {"monitor": monitor.pk}).status_code == 404
    assert client.post(reverse("engagement:listening-mention-reply", args=[mention_id])).status_code == 404
    assert "secret plans" not in client.get(reverse("engagement:listening")).content.decode()
