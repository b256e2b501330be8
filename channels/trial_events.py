"""The "send test event" button: a delivery built and signed exactly as the platform would
send it, taken through the connector's real accept path (signature, syntax, storage)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from channels import services
from channels.adapters import NoAdapter, Rejected, adapter_for
from channels.models import Connector
from channels.sandboxes import deliveries
from channels.sandboxes.deliveries import Delivery


@dataclass(frozen=True)
class TrialOutcome:
    ok: bool
    detail: str


def test_delivery(connector: Connector) -> Delivery:
    nonce = secrets.token_hex(4)
    config, secret = connector.config, connector.secret
    if connector.kind == "wechat_oa":
        return deliveries.wechat_text(
            token=secret("token"), appid=config.get("appid", ""), original_id=config.get("original_id", "gh_test"),
            openid=f"test-openid-{nonce}", text=_("Test message from SCRM"), msg_id=int(time.time() * 1000),
            encoding_aes_key=secret("encoding_aes_key"),
        )
    if connector.kind == "wecom":
        return deliveries.wecom_contact_change(
            token=secret("token"), corp_id=config.get("corp_id", ""), encoding_aes_key=secret("encoding_aes_key"),
            change="add_external_contact", external_userid=f"wm-test-{nonce}", staff="test-staff", state="test",
        )
    if connector.kind == "weibo":
        return deliveries.weibo_push(app_secret=secret("app_secret"), receiver_id=config.get("uid", ""),
                                     sender_id=f"7{secrets.randbelow(10**9)}", text=_("Test message from SCRM"))
    if connector.kind in ("facebook", "instagram"):
        entry = deliveries.meta_message_entry(
            page_id=config.get("page_id", ""), psid=f"test-{nonce}", text=_("Test message from SCRM"), mid=f"m_test_{nonce}",
        )
        return deliveries.meta(app_secret=secret("app_secret"), object_type="page" if connector.kind == "facebook" else "instagram", entries=[entry])
    if connector.kind == "x":
        payload = deliveries.x_dm_payload(for_user_id=config.get("user_id", ""), sender_id=f"9{secrets.randbelow(10**9)}",
                                          text=_("Test message from SCRM"), event_id=f"test{nonce}")
        return deliveries.x(consumer_secret=secret("consumer_secret"), payload=payload)
    if connector.kind in ("web_api", "orders"):
        item = {"id": f"test-{nonce}", "customer": {"email": f"test-{nonce}@example.com"}}
        item |= {"type": "page_view", "url": "https://example.com/"} if connector.kind == "web_api" else {"type": "order", "amount": "1.00"}
        return deliveries.scrm_api(api_key=connector.webhook_token, signing_secret=secret("signing_secret"), items=item)
    raise NoAdapter(connector.kind)


def send_test_event(*, connector: Connector) -> TrialOutcome:
    try:
        delivery = test_delivery(connector)
        adapter = adapter_for(connector.kind)
    except NoAdapter:
        return TrialOutcome(False, _("this platform has no adapter yet"))
    request = HttpRequest()
    request.method = "POST"
    request.GET = QueryDict(mutable=True)
    request.GET.update(delivery.query)
    request.META.update({"CONTENT_TYPE": delivery.content_type, "CONTENT_LENGTH": str(len(delivery.body))})
    request.META.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in delivery.headers.items()})
    request._set_content_type_params(request.META)
    request._body = delivery.body
    try:
        accepted = adapter.accept(connector, request)
    except Rejected as error:
        return TrialOutcome(False, f"{error.status} {error.reason}")
    services.store_raw_event(connector=connector, body=delivery.body, dedupe_key=accepted.dedupe_key,
                             headers={"User-Agent": "scrm-test-event"}, query=accepted.query)
    return TrialOutcome(True, _("stored; it appears on the timeline once processed"))
