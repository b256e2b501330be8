"""Connector forms: one form class, its fields chosen by the connector's kind.

Secrets are password inputs that never render a value; left blank on edit they keep
what is stored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import ConnectorKind

# kind → (public settings, secrets): (name, label, required)
KIND_FIELDS: dict[str, tuple[tuple[tuple[str, Any, bool], ...], tuple[tuple[str, Any, bool], ...]]] = {
    ConnectorKind.WECHAT_OA: (
        (("appid", _("AppID"), True), ("original_id", _("Original ID (gh_…)"), False), ("api_base", _("API base URL"), False)),
        (("token", _("Token"), True), ("encoding_aes_key", _("EncodingAESKey (safe mode)"), False), ("app_secret", _("AppSecret"), False)),
    ),
    ConnectorKind.FACEBOOK: (
        (("page_id", _("Page ID"), True), ("graph_base", _("Graph API base URL"), False)),
        (("app_secret", _("App secret"), True), ("page_token", _("Page access token"), False)),
    ),
    ConnectorKind.INSTAGRAM: (
        (("page_id", _("Instagram account ID"), True), ("graph_base", _("Graph API base URL"), False)),
        (("app_secret", _("App secret"), True), ("page_token", _("Page access token"), False)),
    ),
    ConnectorKind.X: (
        (("user_id", _("Account user ID"), True), ("api_base", _("API base URL"), False)),
        (("consumer_secret", _("Consumer secret"), True), ("bearer_token", _("Bearer token"), False)),
    ),
    ConnectorKind.WEB_API: ((), (("signing_secret", _("Signing secret"), True),)),
    ConnectorKind.ORDERS: ((), (("signing_secret", _("Signing secret"), True),)),
    ConnectorKind.WECOM: (
        (("corp_id", _("Corp ID"), True),),
        (("token", _("Token"), True), ("encoding_aes_key", _("EncodingAESKey"), True)),
    ),
    ConnectorKind.WEIBO: (
        (("uid", _("Account UID"), True), ("api_base", _("API base URL"), False),
         ("poll_interval_seconds", _("Poll every (seconds)"), False)),
        (("app_secret", _("App secret"), True), ("access_token", _("Access token (comments and mentions)"), False)),
    ),
    ConnectorKind.EMAIL: (
        (("address", _("Email address"), True), ("imap_host", _("IMAP host"), True), ("imap_port", _("IMAP port"), False),
         ("imap_tls", _("IMAP security"), False), ("username", _("User name"), True), ("mailbox", _("Mailbox"), False),
         ("smtp_host", _("SMTP host"), False), ("smtp_port", _("SMTP port"), False), ("smtp_tls", _("SMTP security"), False),
         ("smtp_username", _("SMTP user name (if not the same)"), False),
         ("poll_interval_seconds", _("Poll every (seconds)"), False)),
        (("password", _("Password"), True), ("smtp_password", _("SMTP password (if not the same)"), False)),
    ),
}

TLS_CHOICES = [("ssl", _("TLS (implicit)")), ("starttls", _("STARTTLS")), ("none", _("None (local testing only)"))]


def _config_field(name: str, label: Any, required: bool) -> forms.Field:
    """Settings that are not free text get a typed field (ports, intervals, TLS, address)."""
    if name.endswith("_port"):
        return forms.IntegerField(label=label, min_value=1, max_value=65535, required=required)
    if name == "poll_interval_seconds":
        return forms.IntegerField(label=label, min_value=5, max_value=86400, required=required)
    if name.endswith("_tls"):
        return forms.ChoiceField(label=label, choices=TLS_CHOICES, required=False, initial="ssl" if name == "imap_tls" else "starttls")
    if name == "address":
        return forms.EmailField(label=label, max_length=254, required=required)
    return forms.CharField(label=label, max_length=200, required=required)


class ConnectorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    rate_limit_per_second = forms.IntegerField(
        label=_("Rate limit (requests per second)"), min_value=1, max_value=100000, required=False,
        help_text=_("Deliveries above this are answered 429 with Retry-After; the platform retries."),
    )

    def __init__(self, *args: Any, kind: str, existing_secrets: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        public, secret = KIND_FIELDS[kind]
        for name, label, required in public:
            self.fields[f"config_{name}"] = _config_field(name, label, required)
        stored = set(existing_secrets or [])
        for name, label, required in secret:
            self.fields[f"secret_{name}"] = forms.CharField(
                label=label, max_length=500, required=required and name not in stored,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text=_("Stored encrypted. Leave blank to keep the saved value.") if name in stored else "",
            )

    def config(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            key.removeprefix("config_"): value.strip() if isinstance(value, str) else value
            for key, value in self.cleaned_data.items() if key.startswith("config_") and value not in ("", None)
        }
        if self.cleaned_data.get("rate_limit_per_second"):
            values["rate_limit_per_second"] = self.cleaned_data["rate_limit_per_second"]
        return values

    def secrets(self) -> dict[str, str]:
        return {key.removeprefix("secret_"): value for key, value in self.cleaned_data.items() if key.startswith("secret_")}


class KindForm(forms.Form):
    kind = forms.ChoiceField(label=_("Platform"), choices=ConnectorKind.choices)


class RetryForm(forms.Form):
    event_ids = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any integer: the service restricts the ids to this connector's failed events.
        self.fields["event_ids"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]
