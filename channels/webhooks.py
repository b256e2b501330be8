"""The public webhook endpoints: one URL per connector, plus our own events/orders API.

No login and no CSRF (platforms sign their deliveries instead); reached on the brand's
host, so django-tenants has already chosen the brand. The order is fixed: size and rate
limits, the adapter's signature and syntax checks, then the RawEvent is committed, and
only then the answer. Nothing is stored for a refused request, and a refusal is logged
with its reason (never the body or a secret).
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from channels import connector_lookup, coordination, services
from channels.adapters import NoAdapter, Rejected, adapter_for
from channels.adapters.base import KEPT_HEADERS
from channels.adapters.web_api import item_errors_response
from channels.models import Connector, ConnectorKind
from scrm.middleware import machine_endpoint
from scrm.staff.roles import public_view

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RATE_PER_SECOND = 500


# csrf_exempt on these three views: platforms and brand systems cannot carry a CSRF token
# (no session, no cookie). Each request authenticates itself instead: the adapter's
# signature check (WeChat signature / msg_signature, Meta X-Hub-Signature-256, X
# x-twitter-webhooks-signature) or our API's HMAC over timestamp + body, before anything
# is stored (403 otherwise).
@machine_endpoint
@csrf_exempt
@public_view
def webhook(request: HttpRequest, webhook_token: str) -> HttpResponse:
    connector = connector_lookup.enabled_connector(token=webhook_token)
    if connector is None:
        raise Http404
    try:
        adapter = adapter_for(connector.kind)
    except NoAdapter:
        raise Http404 from None
    if request.method == "GET":
        return adapter.handshake(connector, request)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return _receive(request, connector)


@machine_endpoint
@csrf_exempt
@public_view
def api_events(request: HttpRequest) -> HttpResponse:
    return _api(request, ConnectorKind.WEB_API)


@machine_endpoint
@csrf_exempt
@public_view
def api_orders(request: HttpRequest) -> HttpResponse:
    return _api(request, ConnectorKind.ORDERS)


def _api(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    scheme, _sep, key = request.headers.get("Authorization", "").partition(" ")
    connector = (
        connector_lookup.enabled_connector(token=key.strip(), kind=kind)
        if scheme.lower() == "bearer" and key.strip() else None
    )
    if connector is None:
        return JsonResponse({"error": "unknown or disabled API key"}, status=401)
    return _receive(request, connector)


def _receive(request: HttpRequest, connector: Connector) -> HttpResponse:
    per_second = int(connector.config.get("rate_limit_per_second") or DEFAULT_RATE_PER_SECOND)
    if coordination.over_rate_limit(connector.pk, per_second=per_second):
        return _refuse(connector, Rejected(429, "rate limit exceeded"), headers={"Retry-After": "1"})
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _refuse(connector, Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes"))
    try:
        body = request.body
    except RequestDataTooBig:
        return _refuse(connector, Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes"))
    if len(body) > MAX_BODY_BYTES:
        return _refuse(connector, Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes"))
    adapter = adapter_for(connector.kind)
    try:
        accepted = adapter.accept(connector, request)
    except Rejected as error:
        return _refuse(connector, error)
    headers = {name: request.headers[name][:500] for name in KEPT_HEADERS if name in request.headers}
    services.store_raw_event(
        connector=connector, body=body, dedupe_key=accepted.dedupe_key, headers=headers, query=accepted.query,
    )
    return accepted.response


def _refuse(connector: Connector, error: Rejected, headers: dict[str, str] | None = None) -> HttpResponse:
    logger.warning(
        "webhook refused",
        extra={"connector": connector.pk, "kind": connector.kind, "status": error.status, "reason": error.reason},
    )
    if connector.kind in (ConnectorKind.WEB_API, ConnectorKind.ORDERS):
        response = item_errors_response(error)
    else:
        response = HttpResponse(error.reason, status=error.status, content_type="text/plain; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response
