"""Connectors for channel tests and a helper that posts a platform delivery to a webhook."""

from __future__ import annotations

import base64
import os

import pytest
from django.test import Client

from channels import services
from channels.models import Connector
from channels.sandboxes.deliveries import Delivery

AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")


def make_connector(kind: str, **overrides) -> Connector:  # noqa: ANN003
    defaults = {
        "wechat_oa": ({"appid": "wx1234567890", "original_id": "gh_brand"}, {"token": "wechat-token", "encoding_aes_key": AES_KEY}),
        "wecom": ({"corp_id": "ww-corp-1"}, {"token": "wecom-token", "encoding_aes_key": AES_KEY}),
        "weibo": ({"uid": "5550001"}, {"app_secret": "weibo-app-secret"}),
        "facebook": ({"page_id": "1000"}, {"app_secret": "meta-app-secret"}),
        "instagram": ({"page_id": "2000"}, {"app_secret": "meta-app-secret"}),
        "x": ({"user_id": "42"}, {"consumer_secret": "x-consumer-secret"}),
        "web_api": ({}, {"signing_secret": "api-signing-secret"}),
        "orders": ({}, {"signing_secret": "orders-signing-secret"}),
    }[kind]
    return services.create_connector(
        kind=kind, name=overrides.get("name", f"{kind} test"), config=overrides.get("config", defaults[0]),
        secrets=overrides.get("secrets", defaults[1]), actor=None,
    )


def post(client: Client, connector: Connector, delivery: Delivery, *, path: str | None = None):  # noqa: ANN201
    from urllib.parse import urlencode

    url = path or f"/hooks/{connector.webhook_token}/"
    if delivery.query:
        url += "?" + urlencode(delivery.query)
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in delivery.headers.items()}
    return client.post(url, data=delivery.body, content_type=delivery.content_type, **headers)


@pytest.fixture
def hook_client(brand) -> Client:  # noqa: ANN001
    """An anonymous client on the brand's host, enforcing CSRF like a browser would not."""
    return Client(HTTP_HOST=brand.primary_host(), enforce_csrf_checks=True)
