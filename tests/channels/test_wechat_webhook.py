"""WeChat Official Account webhooks: verification, plaintext and safe mode, bad input."""

import pytest

from channels import enrichment, pipeline, signatures
from channels.models import RawEvent
from channels.sandboxes import deliveries
from customers.models import Consent, Identity, Interaction
from tests.channels.conftest import make_connector, post


def _text(connector, *, aes=True, msg_id=1001, text="你好，我想问一下订单", openid="o_user_1", **kw):
    return deliveries.wechat_text(
        token="wechat-token", appid="wx1234567890", original_id="gh_brand", openid=openid, text=text,
        msg_id=msg_id, encoding_aes_key=connector.secret("encoding_aes_key") if aes else "", **kw,
    )


def test_server_verification_echoes_echostr_only_with_a_valid_signature(brand, hook_client):
    connector = make_connector("wechat_oa")
    good = {"timestamp": "1700000000", "nonce": "123", "echostr": "echo-me"}
    good["signature"] = signatures.sha1_sorted("wechat-token", good["timestamp"], good["nonce"])
    response = hook_client.get(f"/hooks/{connector.webhook_token}/", good)
    assert response.status_code == 200 and response.content == b"echo-me"
    response = hook_client.get(f"/hooks/{connector.webhook_token}/", {**good, "signature": "0" * 40})
    assert response.status_code == 403 and RawEvent.objects.count() == 0


@pytest.mark.parametrize("aes", [False, True], ids=["plaintext", "safe-mode"])
def test_a_text_message_lands_on_the_customers_timeline_once_though_delivered_three_times(brand, hook_client, aes):
    # given a WeChat connector and a message the platform retries twice
    connector = make_connector("wechat_oa")
    for _attempt in range(3):
        # when it is delivered (the platform re-signs each retry with a new nonce)
        response = post(hook_client, connector, _text(connector, aes=aes))
        # then each delivery is answered "success"
        assert response.status_code == 200 and response.content == b"success"
    assert RawEvent.objects.count() == 1
    pipeline.process_pending_batch()
    enrichment.score_sentiments(list(Interaction.objects.values_list("id", flat=True)))  # the follow-up task's work
    # then one interaction, on the customer known by the OpenID scoped to the account
    interaction = Interaction.objects.get()
    assert interaction.text == "你好，我想问一下订单" and interaction.kind == "message_in"
    assert interaction.language == "zh" and interaction.sentiment is not None
    identity = Identity.objects.get(kind="wechat_openid", value="o_user_1")
    assert identity.scope == "wx1234567890" and identity.customer_id == interaction.customer_id
    assert RawEvent.objects.get().status == "done"


def test_subscribe_and_unsubscribe_become_follow_unfollow_and_consent(brand, hook_client):
    connector = make_connector("wechat_oa")
    key = connector.secret("encoding_aes_key")
    common = {"token": "wechat-token", "appid": "wx1234567890", "original_id": "gh_brand", "openid": "o_fan", "encoding_aes_key": key}
    post(hook_client, connector, deliveries.wechat_event(event="subscribe", event_key="qrscene_store42", created=1700000000, **common))
    post(hook_client, connector, deliveries.wechat_event(event="unsubscribe", created=1700000100, **common))
    pipeline.process_pending_batch()
    kinds = list(Interaction.objects.order_by("occurred_at").values_list("kind", flat=True))
    assert kinds == ["follow", "unfollow"]
    assert Interaction.objects.get(kind="follow").metadata["scene"] == "store42"
    statuses = list(Consent.objects.filter(purpose="marketing").order_by("recorded_at").values_list("status", flat=True))
    assert statuses == ["granted", "withdrawn"]


def test_unknown_message_types_are_kept_and_listed_as_unhandled(brand, hook_client):
    connector = make_connector("wechat_oa")
    delivery = deliveries.wechat(token="wechat-token", appid="wx1234567890", original_id="gh_brand", openid="o_x",
                                 msg_type="event", fields={"Event": "MASSSENDJOBFINISH", "Status": "send success"})
    assert post(hook_client, connector, delivery).status_code == 200
    pipeline.process_pending_batch()
    raw = RawEvent.objects.get()
    assert raw.status == "unhandled" and raw.unhandled_types == ["event:MASSSENDJOBFINISH"]
    assert Interaction.objects.count() == 0


def test_bad_signatures_are_403_and_store_nothing(brand, hook_client):
    connector = make_connector("wechat_oa")
    delivery = _text(connector)
    delivery.query["signature"] = "f" * 40
    assert post(hook_client, connector, delivery).status_code == 403
    delivery = _text(connector)
    delivery.query["msg_signature"] = "f" * 40
    assert post(hook_client, connector, delivery).status_code == 403
    assert RawEvent.objects.count() == 0


def _signed_raw(body: bytes, content_type: str = "text/xml"):
    query = {"timestamp": "1700000000", "nonce": "1"}
    query["signature"] = signatures.sha1_sorted("wechat-token", query["timestamp"], query["nonce"])
    return deliveries.Delivery(body=body, query=query, content_type=content_type)


XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><FromUserName>&e;</FromUserName></xml>'
LAUGHS = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>'


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (XXE, "text/xml", 400),
        (LAUGHS, "text/xml", 400),
        (b"<xml><unclosed></xml>", "text/xml", 400),
        (b"<xml><Content>\xff\xfe</Content></xml>", "text/xml", 400),
        (b"<xml/>", "application/x-www-form-urlencoded", 415),
        (b"<xml><ToUserName>gh_other</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime></xml>", "text/xml", 400),
        (b"<xml>" + b"<a>x</a>" * 200_000 + b"</xml>", "text/xml", 413),
    ],
    ids=["xxe", "billion-laughs", "malformed", "invalid-utf8", "wrong-content-type", "other-account", "oversized"],
)
def test_hostile_or_malformed_bodies_get_a_4xx_with_a_reason_and_nothing_is_stored(brand, hook_client, body, content_type, status):
    connector = make_connector("wechat_oa")
    response = post(hook_client, connector, _signed_raw(body, content_type))
    assert response.status_code == status
    assert response.content  # a reason
    assert RawEvent.objects.count() == 0


def test_an_unknown_or_disabled_webhook_token_is_404(brand, hook_client):
    connector = make_connector("wechat_oa")
    assert hook_client.post("/hooks/not-a-token/", data=b"<xml/>", content_type="text/xml").status_code == 404
    connector.enabled = False
    connector.save()
    assert post(hook_client, connector, _text(connector)).status_code == 404
