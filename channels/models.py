"""Connectors (a brand's link to one platform account) and the RawEvent store.

RawEvent is the durable half of the ingestion spine (DESIGN.md): a webhook commits its
row before answering 200, and the pipeline works from this table, not from the broker.
Secrets are Fernet-encrypted (scrm.crypto) and never leave the model in clear except
through `Connector.secret(name)`.
"""

from __future__ import annotations

import json
import secrets as token_source
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.channels import Channel
from scrm import crypto


def new_webhook_token() -> str:
    return token_source.token_urlsafe(24)


def new_verify_token() -> str:
    return token_source.token_hex(16)


class ConnectorKind(models.TextChoices):
    WECHAT_OA = "wechat_oa", _("WeChat Official Account")
    WECOM = "wecom", _("WeCom external contacts")
    WEIBO = "weibo", _("Weibo")
    FACEBOOK = "facebook", _("Facebook Page and Messenger")
    INSTAGRAM = "instagram", _("Instagram")
    X = "x", _("X")
    EMAIL = "email", _("Email")
    WEB_API = "web_api", _("Web and app events API")
    ORDERS = "orders", _("Orders API")


# The channel a connector's interactions are recorded on.
KIND_CHANNEL: dict[str, str] = {
    ConnectorKind.WECHAT_OA: Channel.WECHAT,
    ConnectorKind.WECOM: Channel.WECOM,
    ConnectorKind.WEIBO: Channel.WEIBO,
    ConnectorKind.FACEBOOK: Channel.FACEBOOK,
    ConnectorKind.INSTAGRAM: Channel.INSTAGRAM,
    ConnectorKind.X: Channel.X,
    ConnectorKind.EMAIL: Channel.EMAIL,
    ConnectorKind.WEB_API: Channel.WEB,
    ConnectorKind.ORDERS: Channel.WEB,
}


class Connector(models.Model):
    Kind = ConnectorKind

    kind = models.CharField(_("kind"), max_length=16, choices=ConnectorKind.choices)
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Public settings (app id, page id, account id, API base URL…): shown and editable.
    config = models.JSONField(_("settings"), default=dict, blank=True)
    # Fernet token of a JSON object {name: secret}. Write-only from the UI.
    secrets_encrypted = models.TextField(blank=True, default="", editable=False)
    # Names the connector in its webhook URL; unguessable, so a URL cannot be enumerated.
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token, editable=False)
    # What the platform echoes back in its verification handshake (Meta hub.verify_token).
    verify_token = models.CharField(_("verify token"), max_length=64, default=new_verify_token)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    # Polling connectors keep their platform cursor here (since_id, IMAP UID…).
    cursor = models.JSONField(_("cursor"), default=dict, blank=True, editable=False)
    # Polling schedule (channels.polling): when the last poll ran, when the next is due,
    # and how many polls in a row failed (the exponential backoff's exponent).
    last_poll_at = models.DateTimeField(_("last poll"), null=True, blank=True, editable=False)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True, editable=False)
    poll_failures = models.PositiveIntegerField(_("failed polls in a row"), default=0, editable=False)

    class Meta:
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def channel(self) -> str:
        return KIND_CHANNEL[self.kind]

    def secret_names(self) -> list[str]:
        return sorted(self._secrets())

    def secret(self, name: str) -> str:
        return self._secrets().get(name, "")

    def set_secrets(self, values: dict[str, str]) -> None:
        """Merge `values` into the stored secrets; an empty value keeps the old one."""
        merged = self._secrets()
        merged.update({key: value for key, value in values.items() if value})
        self.secrets_encrypted = crypto.encrypt(json.dumps(merged)) if merged else ""
        self.__dict__.pop("_secret_cache", None)

    def _secrets(self) -> dict[str, Any]:
        if "_secret_cache" not in self.__dict__:
            plain = crypto.decrypt(self.secrets_encrypted) if self.secrets_encrypted else "{}"
            self.__dict__["_secret_cache"] = json.loads(plain)
        return dict(self.__dict__["_secret_cache"])


class RawEvent(models.Model):
    """One delivery exactly as a platform sent it, kept until (and after) it is processed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        # Claimed rows are locked inside the processing transaction (SKIP LOCKED); a
        # crashed worker's rows fall back to pending when its transaction aborts, so
        # "processing" is only ever seen by the transaction doing the work.
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        UNHANDLED = "unhandled", _("Unhandled")

    id = models.BigAutoField(primary_key=True)
    connector = models.ForeignKey(
        Connector, verbose_name=_("connector"), on_delete=models.CASCADE, related_name="raw_events",
        db_index=False,  # the (connector, dedupe_key) unique index serves it
    )
    received_at = models.DateTimeField(_("received"), db_index=True)
    # The few request headers that matter later (content type, signature ids); never
    # cookies or authorization.
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    query = models.JSONField(_("query"), default=dict, blank=True)
    body = models.BinaryField(_("body"))
    dedupe_key = models.CharField(_("dedupe key"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    # Event types the adapter does not know (kept, listed, never dropped).
    unhandled_types = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("raw event")
        verbose_name_plural = _("raw events")
        constraints = [
            models.UniqueConstraint(fields=["connector", "dedupe_key"], name="rawevent_dedupe"),
        ]
        indexes = [
            # The pipeline's claim query and the sweeper: oldest pending first.
            models.Index(fields=["id"], condition=Q(status="pending"), name="rawevent_pending"),
            models.Index(
                fields=["connector", "status", "-received_at"], name="rawevent_connector_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connector_id} · {self.dedupe_key} · {self.status}"


class OutboundMessage(models.Model):
    """One message to send through a connector (transactional outbox, DESIGN.md).

    Written in the transaction of the business change; delivered by channels.outbox. A
    row is sent at most once: it is claimed as "sending" and committed before the platform
    is called, and a row found still "sending" later is never retried automatically (we
    cannot know whether the platform got it), only shown."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (interrupted while sending)")

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        IMAGE = "image", _("Image")
        TEMPLATE = "template", _("Template")

    class Purpose(models.TextChoices):
        SERVICE = "service", _("Service")
        MARKETING = "marketing", _("Marketing")

    id = models.BigAutoField(primary_key=True)
    connector = models.ForeignKey(Connector, verbose_name=_("connector"), on_delete=models.PROTECT, related_name="outbound")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    recipient = models.CharField(_("recipient"), max_length=255)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TEXT)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.SERVICE)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    error_code = models.CharField(_("error code"), max_length=32, blank=True)
    error = models.TextField(_("error"), blank=True)
    platform_message_id = models.CharField(_("platform message ID"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="queued"), name="outbound_due"),
            # Receipts name the platform's message id (WeChat TEMPLATESENDJOBFINISH's MsgID).
            models.Index(fields=["platform_message_id"], condition=~Q(platform_message_id=""), name="outbound_platform_id"),
        ]

    def __str__(self) -> str:
        return f"{self.connector_id} → {self.recipient} ({self.status})"
