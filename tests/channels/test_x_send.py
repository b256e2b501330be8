"""X direct messages through the outbox to the X sandbox's DM API."""

from __future__ import annotations

import pytest

from channels import outbox
from channels.sandboxes.x import XSandbox
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory


@pytest.fixture
def x_api():
    sandbox = XSandbox(consumer_secret="x-consumer-secret", user_id="42", bearer_token="user-token").start()
    yield sandbox
    sandbox.stop()


def _connector(sandbox: XSandbox, bearer_token: str = "user-token"):  # noqa: ANN202
    return make_connector("x", config={"user_id": "42", "api_base": sandbox.server.url},
                          secrets={"consumer_secret": "x-consumer-secret", "bearer_token": bearer_token})


def test_a_dm_reply_is_sent_once_and_its_event_id_recorded(brand, x_api):
    # given a user who wrote to the brand (so X lets us answer)
    x_api.dm("9001", "hi")
    customer = CustomerFactory()
    message = outbox.queue_message(connector=_connector(x_api), recipient="9001", text="谢谢您的留言 👋", customer_id=customer.pk)
    # when the outbox delivers, twice
    assert outbox.deliver_due_messages().sent == 1
    assert outbox.deliver_due_messages().sent == 0
    # then X got one DM with the text, sent with the connector's token, and its event id is on the row
    assert x_api.sent == [{"participant": "9001", "text": "谢谢您的留言 👋"}]
    assert [call.headers["authorization"] for call in x_api.server.calls] == ["Bearer user-token"]
    message.refresh_from_db()
    assert message.status == "sent" and message.platform_message_id.isdigit()


def test_a_user_who_cannot_be_messaged_fails_with_xs_code(brand, x_api):
    message = outbox.queue_message(connector=_connector(x_api), recipient="9002", text="hello")
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "349")
    assert "cannot send messages" in message.error


def test_a_recipient_that_is_not_a_user_id_never_reaches_the_url(brand, x_api):
    message = outbox.queue_message(connector=_connector(x_api), recipient="../../2/tweets", text="hello")
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "invalid_recipient")
    assert x_api.server.calls == []


def test_a_wrong_bearer_token_is_refused_as_x_refuses_it(brand, x_api):
    # given a user X lets us answer, and a connector whose token X does not know
    x_api.dm("9003", "hi")
    message = outbox.queue_message(connector=_connector(x_api, bearer_token="revoked-token"), recipient="9003", text="hello")
    # when the outbox delivers
    outbox.deliver_due_messages()
    # then X answered 401, nothing was sent, and the row says why (no retry: the token must change)
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error) == ("failed", "401", "Unauthorized")
    assert x_api.sent == []
