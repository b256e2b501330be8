"""WeCom external-contact callbacks: encrypted echostr verification, contact changes."""

from channels import pipeline, signatures
from channels.models import RawEvent
from channels.sandboxes import deliveries
from customers.models import Consent, Identity, Interaction
from tests.channels.conftest import AES_KEY, make_connector, post


def _connector():
    return make_connector("wecom", config={"corp_id": "ww-corp-1"}, secrets={"token": "wecom-token", "encoding_aes_key": AES_KEY})


def test_url_verification_answers_the_decrypted_echostr(brand, hook_client):
    connector = _connector()
    echostr = signatures.wechat_encrypt(b"8675309", encoding_aes_key=AES_KEY, appid="ww-corp-1")
    query = {"timestamp": "1700000000", "nonce": "7", "echostr": echostr}
    query["msg_signature"] = signatures.sha1_sorted("wecom-token", "1700000000", "7", echostr)
    response = hook_client.get(f"/hooks/{connector.webhook_token}/", query)
    assert response.status_code == 200 and response.content == b"8675309"
    assert hook_client.get(f"/hooks/{connector.webhook_token}/", {**query, "msg_signature": "0" * 40}).status_code == 403


def test_a_customer_added_then_removing_staff_is_follow_unfollow_with_service_consent(brand, hook_client):
    connector = _connector()
    common = {"token": "wecom-token", "corp_id": "ww-corp-1", "encoding_aes_key": AES_KEY, "external_userid": "wmABC", "staff": "lily"}
    added = deliveries.wecom_contact_change(change="add_external_contact", state="store-42", created=1700000000, **common)
    assert post(hook_client, connector, added).status_code == 200
    assert post(hook_client, connector, added).status_code == 200  # redelivered
    post(hook_client, connector, deliveries.wecom_contact_change(change="del_follow_user", created=1700000500, **common))
    pipeline.process_pending_batch()
    assert RawEvent.objects.count() == 2
    assert list(Interaction.objects.order_by("occurred_at").values_list("kind", flat=True)) == ["follow", "unfollow"]
    assert Interaction.objects.get(kind="follow").metadata["state"] == "store-42"
    assert Identity.objects.get(kind="wecom_external_userid").scope == "ww-corp-1"
    assert list(Consent.objects.order_by("recorded_at").values_list("status", flat=True)) == ["granted", "withdrawn"]


def test_a_forged_callback_is_refused(brand, hook_client):
    connector = _connector()
    delivery = deliveries.wecom_contact_change(token="not-our-token", corp_id="ww-corp-1", encoding_aes_key=AES_KEY,
                                               change="add_external_contact", external_userid="wmX", staff="s")
    assert post(hook_client, connector, delivery).status_code == 403
    assert RawEvent.objects.count() == 0
