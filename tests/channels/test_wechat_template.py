"""WeChat template messages through the outbox and the sandbox: the template API's real
payload shape, and its real error codes recorded on the row (40037 unknown template,
43004 not a follower, 47003 a data field missing)."""

import pytest

from channels import outbox
from channels.adapters.http import call_json
from channels.sandboxes.wechat import WeChatSandbox
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory


@pytest.fixture
def sandbox():
    sandbox = WeChatSandbox(token="wechat-token", appid="wx1234567890", app_secret="wechat-app-secret",
                            templates={"ORDER_SHIPPED": ("first", "keyword1")}).start()
    sandbox.follow("o_fan")
    yield sandbox
    sandbox.stop()


def _send(sandbox, recipient: str, payload: dict):  # noqa: ANN202
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    message = outbox.queue_message(connector=connector, recipient=recipient, kind="template", payload=payload,
                                   customer_id=CustomerFactory().pk)
    outbox.deliver_due_messages()
    message.refresh_from_db()
    return message


def test_a_template_message_reaches_a_follower_in_wechats_shape(brand, sandbox):
    message = _send(sandbox, "o_fan", {"template_id": "ORDER_SHIPPED", "url": "https://shop.example/o/1",
                                       "data": {"first": {"value": "已发货"}, "keyword1": "SF123"}})

    assert message.status == "sent" and message.platform_message_id == str(sandbox.templates_sent[0]["msgid"])
    assert sandbox.templates_sent == [{
        "touser": "o_fan", "template_id": "ORDER_SHIPPED", "url": "https://shop.example/o/1",
        "data": {"first": {"value": "已发货"}, "keyword1": {"value": "SF123"}}, "msgid": sandbox.templates_sent[0]["msgid"],
    }]


@pytest.mark.parametrize(("recipient", "payload", "code"), [
    ("o_fan", {"template_id": "NO_SUCH", "data": {"first": "a", "keyword1": "b"}}, "40037"),
    ("o_stranger", {"template_id": "ORDER_SHIPPED", "data": {"first": "a", "keyword1": "b"}}, "43004"),
    ("o_fan", {"template_id": "ORDER_SHIPPED", "data": {"first": "a"}}, "47003"),
])
def test_the_platforms_template_errors_are_final_and_recorded(brand, sandbox, recipient, payload, code):
    message = _send(sandbox, recipient, payload)

    assert message.status == "failed" and message.error_code == code and message.error
    assert sandbox.templates_sent == []


def test_the_sandbox_refuses_a_malformed_template_body_as_wechat_does(sandbox):
    # a body the adapter would never send: data items must be {"value": "…"}
    _status, token = call_json(f"{sandbox.server.url}/cgi-bin/token?grant_type=client_credential&appid=wx1234567890"
                               "&secret=wechat-app-secret")
    url = f"{sandbox.server.url}/cgi-bin/message/template/send?access_token={token['access_token']}"
    body = {"touser": "o_fan", "template_id": "ORDER_SHIPPED", "data": {"first": "bare", "keyword1": {"value": "x"}}}

    assert call_json(url, payload=body)[1]["errcode"] == 47003
    assert call_json(url, payload={**body, "data": {"first": {"value": "a"}, "keyword1": {"value": "b"}}, "url": "javascript:x"})[1]["errcode"] == 47003
    assert call_json(url.replace(token["access_token"], "forged"), payload=body)[1]["errcode"] == 40001
