"""The agent workspace: list, filters and counts, thread, conditional polling, reply,
double-send protection, notes, actions, escaping of hostile content, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from engagement.inbox.models import CannedReply, Conversation, Message, Team
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory
from tests.engagement.inbox.helpers import deliver, inbound

pytestmark = pytest.mark.django_db

HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)>\u200b\u200b\u202eevil\u202c '
    "\ud83d broken emoji 👍🏽 " + "A" * 100_000
)


@pytest.fixture
def wechat(brand):  # noqa: ANN001, ANN201
    return make_connector("wechat_oa")


@pytest.fixture
def agent_client(staff_client):  # noqa: ANN001, ANN201
    return staff_client("Agent")


def _conversation(wechat, text: str = "hello", **kwargs) -> Conversation:  # noqa: ANN001, ANN003
    customer = CustomerFactory(display_name=kwargs.pop("name", "Ada"))
    deliver(inbound(customer, wechat, text, **kwargs))
    return Conversation.objects.get(customer=customer)


def test_inbox_lists_open_conversations_with_counts(agent_client, wechat):
    client, _user = agent_client
    _conversation(wechat, "where is my parcel?")
    response = client.get(reverse("engagement:inbox"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "where is my parcel?" in body
    assert 'data-testid="count-open">1<' in body


def test_filters_mine_negative_and_channel(agent_client, wechat):
    client, user = agent_client
    mine = _conversation(wechat, "mine", name="Mine Person")
    Conversation.objects.filter(pk=mine.pk).update(assignee=user)
    _conversation(wechat, "angry", name="Angry Person", sentiment=-0.9)
    url = reverse("engagement:inbox-list")
    assert "Mine Person" in client.get(url, {"view": "mine"}).content.decode()
    assert "Angry Person" not in client.get(url, {"view": "mine"}).content.decode()
    negative = client.get(url, {"negative": "1"}).content.decode()
    assert "Angry Person" in negative and "Mine Person" not in negative
    assert "Mine Person" not in client.get(url, {"channel": "facebook"}).content.decode()


def test_list_polling_answers_304_until_something_changes(agent_client, wechat):
    client, _user = agent_client
    conversation = _conversation(wechat)
    url = reverse("engagement:inbox-list")
    first = client.get(url, {"view": "open"})
    etag = first["ETag"]
    assert client.get(url, {"view": "open"}, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # when a new message arrives
    deliver(inbound(conversation.customer, wechat, "another one"))
    changed = client.get(url, {"view": "open"}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "another one" in changed.content.decode()


def test_thread_polling_answers_304_until_the_conversation_changes(agent_client, wechat):
    client, _user = agent_client
    conversation = _conversation(wechat)
    url = reverse("engagement:inbox-thread", args=[conversation.pk])
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    deliver(inbound(conversation.customer, wechat, "are you there?"))
    assert "are you there?" in client.get(url, HTTP_IF_NONE_MATCH=etag).content.decode()


def test_reply_is_recorded_queued_and_shown(agent_client, wechat):
    client, user = agent_client
    conversation = _conversation(wechat)
    response = client.post(
        reverse("engagement:inbox-reply", args=[conversation.pk]),
        {"text": "On its way!", "version": conversation.version, "client_key": "k1"}, HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "On its way!" in response.content.decode()
    reply = Message.objects.get(direction="out")
    assert (reply.author, reply.outbound.status, reply.sla_met) == (user, "queued", True)
    conversation.refresh_from_db()
    assert conversation.status == "pending" and conversation.assignee == user and conversation.awaiting_since is None


def test_a_reply_goes_through_the_outbox_to_the_platform(agent_client, brand):
    from channels import outbox
    from channels.sandboxes.wechat import WeChatSandbox

    client, _user = agent_client
    sandbox = WeChatSandbox(token="wechat-token", appid="wx1234567890", app_secret="wechat-app-secret").start()
    try:
        connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": sandbox.server.url},
                                   secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
        conversation = _conversation(connector)
        sandbox.last_inbound[f"o_{conversation.customer_id}"] = timezone.now().timestamp()
        client.post(reverse("engagement:inbox-reply", args=[conversation.pk]),
                    {"text": "您好，已发货", "version": conversation.version, "client_key": "out-1"})
        reply = Message.objects.get(direction="out")
        assert reply.outbound.recipient == f"o_{conversation.customer_id}" and reply.outbound.status == "queued"
        # when the outbox delivers
        assert outbox.deliver_due_messages().sent == 1
        # then the platform got it and the thread shows it sent
        assert sandbox.sent == [{"touser": f"o_{conversation.customer_id}", "msgtype": "text", "text": {"content": "您好，已发货"}}]
        thread = client.get(reverse("engagement:inbox-thread", args=[conversation.pk])).content.decode()
        assert 'delivery-sent' in thread
    finally:
        sandbox.stop()


def test_two_agents_never_double_send(staff_client, wechat):
    (first, _a), (second, _b) = staff_client("Agent"), staff_client("Agent")
    conversation = _conversation(wechat)
    url = reverse("engagement:inbox-reply", args=[conversation.pk])
    # both rendered the form at the same version; the first reply wins
    first.post(url, {"text": "Hello from A", "version": conversation.version, "client_key": "a1"})
    late = second.post(url, {"text": "Hello from B", "version": conversation.version, "client_key": "b1"})
    assert 'data-testid="reply-error"' in late.content.decode()
    assert "Hello from B" in late.content.decode()  # the draft is kept
    assert list(Message.objects.filter(direction="out").values_list("text", flat=True)) == ["Hello from A"]


def test_a_resubmitted_form_sends_once(agent_client, wechat):
    client, _user = agent_client
    conversation = _conversation(wechat)
    url = reverse("engagement:inbox-reply", args=[conversation.pk])
    data = {"text": "Once", "version": conversation.version, "client_key": "same-key"}
    client.post(url, data)
    client.post(url, data)
    assert Message.objects.filter(direction="out").count() == 1


def test_wechat_reply_window_closed_explains_why_and_what_is_possible(agent_client, wechat):
    client, _user = agent_client
    conversation = _conversation(wechat, at=timezone.now() - timedelta(hours=49))
    page = client.get(reverse("engagement:inbox-conversation", args=[conversation.pk]), HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert 'data-testid="window-closed"' in body and "48 hours" in body and "template message" in body
    refused = client.post(
        reverse("engagement:inbox-reply", args=[conversation.pk]),
        {"text": "late", "version": conversation.version, "client_key": "late"},
    )
    assert refused.status_code == 200 and not Message.objects.filter(direction="out").exists()


def test_note_with_mentions(agent_client, wechat, staff_client):
    client, _user = agent_client
    _other_client, colleague = staff_client("Agent")
    conversation = _conversation(wechat)
    client.post(reverse("engagement:inbox-note", args=[conversation.pk]), {"text": f"@{colleague.username} can you check? @nobody"})
    note = Message.objects.get(direction="note")
    assert note.mentions == [colleague.username]


def test_actions_take_transfer_snooze_resolve(agent_client, wechat):
    client, user = agent_client
    conversation = _conversation(wechat)
    team = Team.objects.create(name="Billing")
    action = lambda name, **data: client.post(reverse("engagement:inbox-action", args=[conversation.pk, name]), data)  # noqa: E731
    action("take")
    conversation.refresh_from_db()
    assert conversation.assignee == user
    action("transfer", team=team.pk)
    conversation.refresh_from_db()
    assert conversation.team == team and conversation.assignee is None
    action("snooze", hours=4)
    conversation.refresh_from_db()
    assert conversation.status == "snoozed" and conversation.snoozed_until > timezone.now()
    action("resolve")
    conversation.refresh_from_db()
    assert conversation.status == "resolved" and conversation.resolutions.count() == 1
    assert client.post(reverse("engagement:inbox-action", args=[conversation.pk, "explode"])).status_code == 404


def test_canned_reply_fills_variables_with_fallbacks_and_escapes(agent_client, wechat):
    client, _user = agent_client
    conversation = _conversation(wechat, name="<b>Bob</b>")
    canned = CannedReply.objects.create(title="Hi", body="Hi {{ customer.display_name|there }}, {{ unknown.var }}")
    body = client.get(reverse("engagement:inbox-canned", args=[conversation.pk, canned.pk])).content.decode()
    assert "Hi &lt;b&gt;Bob&lt;/b&gt;, {{ unknown.var }}" in body
    nameless = _conversation(wechat, name="")
    body = client.get(reverse("engagement:inbox-canned", args=[nameless.pk, canned.pk])).content.decode()
    assert "Hi there," in body


def test_hostile_content_is_escaped_everywhere(agent_client, wechat):
    client, _user = agent_client
    conversation = _conversation(wechat, HOSTILE.replace("\ud83d", "\ufffd"), name='"><script>alert(2)</script>',
                                 metadata={"picurl": "javascript:alert(3)", "url": "https://example.com/a?b=<c>"})
    pages = [
        client.get(reverse("engagement:inbox")).content.decode(),
        client.get(reverse("engagement:inbox-conversation", args=[conversation.pk])).content.decode(),
        client.get(reverse("engagement:inbox-thread", args=[conversation.pk])).content.decode(),
    ]
    for body in pages:
        assert "<script>alert" not in body and "<img src=x" not in body
    thread = pages[2]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in thread
    assert 'src="javascript:' not in thread and 'href="javascript:' not in thread
    assert "https://example.com/a?b=&lt;c&gt;" in thread


def test_presence_shows_a_colleague_typing(staff_client, wechat):
    (first, _a), (second, colleague) = staff_client("Agent"), staff_client("Agent")
    conversation = _conversation(wechat)
    url = reverse("engagement:inbox-presence", args=[conversation.pk])
    assert second.post(url).status_code == 204
    assert f"{colleague.username} is replying" in first.get(url).content.decode()
    assert "is replying" not in second.get(url).content.decode()


def test_marketers_cannot_use_the_inbox(staff_client, wechat):
    client, _user = staff_client("Marketer")
    assert client.get(reverse("engagement:inbox")).status_code == 403


def test_another_brands_conversation_ids_are_404(agent_client, wechat, brand, other_brand):
    client, _user = agent_client
    # given a conversation in beta
    connection.set_tenant(other_brand)
    beta_connector = make_connector("wechat_oa", name="beta wechat")
    customer = CustomerFactory()
    deliver(inbound(customer, beta_connector, "beta secret"))
    beta_id = Conversation.objects.get(customer=customer).pk
    canned_id = CannedReply.objects.create(title="x", body="y").pk
    connection.set_tenant(brand)
    assert not Conversation.objects.filter(pk=beta_id).exists()
    # when an alpha agent uses beta's ids, then every URL answers 404
    gets = ["inbox-conversation", "inbox-thread", "inbox-presence"]
    posts = ["inbox-reply", "inbox-note"]
    for name in gets:
        assert client.get(reverse(f"engagement:{name}", args=[beta_id])).status_code == 404, name
    for name in posts:
        assert client.post(reverse(f"engagement:{name}", args=[beta_id]), {"text": "x", "version": 1, "client_key": "z"}).status_code == 404, name
    for action in ("take", "assign", "transfer", "snooze", "resolve", "reopen"):
        assert client.post(reverse("engagement:inbox-action", args=[beta_id, action])).status_code == 404
    assert client.get(reverse("engagement:inbox-canned", args=[beta_id, canned_id])).status_code == 404
    assert "beta secret" not in client.get(reverse("engagement:inbox")).content.decode()



def test_shared_counts_follow_every_change_at_once(staff_client, wechat):
    # given two agents whose lists were rendered (the brand-wide counts are now cached)
    first, first_user = staff_client("Agent")
    second, _second_user = staff_client("Agent")
    conversation = _conversation(wechat, "one")
    url = reverse("engagement:inbox-list")
    assert 'data-testid="count-open">1<' in first.get(url).content.decode()
    # when another conversation arrives and the first agent takes the first one
    _conversation(wechat, "two", name="Bo")
    Conversation.objects.filter(pk=conversation.pk).update(assignee=first_user, updated_at=timezone.now())
    # then both see the new brand-wide count, and "mine" stays each agent's own
    for client, mine in ((first, 1), (second, 0)):
        body = client.get(url).content.decode()
        assert 'data-testid="count-open">2<' in body
        assert f'data-testid="count-mine">{mine}<' in body


def test_list_rows_are_reused_between_polls_but_follow_every_change(agent_client, wechat, django_assert_max_num_queries):
    from engagement.inbox import list_rows, services

    client, _user = agent_client
    url = reverse("engagement:inbox-list")
    conversation = _conversation(wechat, "first question", name="Rowena")
    for n in range(29):
        _conversation(wechat, f"other {n}", name=f"Other {n}")
    first = client.get(url, {"view": "open"}).content.decode()
    assert "first question" in first
    # a second poll renders no row again, and 30 rows cost no query per row
    rendered = []
    original = list_rows.get_template

    def counting(name):  # noqa: ANN001, ANN202
        template = original(name)
        return type("Counted", (), {"render": lambda self, context: rendered.append(1) or template.render(context)})()

    list_rows.get_template = counting
    try:
        with django_assert_max_num_queries(12):
            again = client.get(url, {"view": "open"}).content.decode()
        assert again == first and rendered == []
        # when the customer writes again, only that row is rendered afresh
        deliver(inbound(conversation.customer, wechat, "second question"))
        after_message = client.get(url, {"view": "open"}).content.decode()
        assert "second question" in after_message and len(rendered) == 1
    finally:
        list_rows.get_template = original
    # reading it clears the unread mark in the list
    services.mark_read(conversation_id=conversation.pk)
    marker = f'data-id="{conversation.pk}"'
    assert marker in (row := client.get(url, {"view": "open"}).content.decode())
    block = row.split(marker)[1].split("</li>")[0]
    assert 'data-testid="unread"' not in block
    # and when the first-response time passes, the row says the SLA was missed
    Conversation.objects.filter(pk=conversation.pk).update(first_response_due_at=timezone.now() - timedelta(minutes=1))
    late = client.get(url, {"view": "open"}).content.decode()
    assert "SLA missed" in late.split(marker)[1].split("</li>")[0]
