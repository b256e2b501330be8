"""The channels a customer reaches the brand on, named once for every table that records one.

Interactions, orders and consents all say "on which channel"; keeping the vocabulary here
means a segment rule, a campaign and the consent check can never disagree on a spelling.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WECHAT = "wechat", _("WeChat")
    WECOM = "wecom", _("WeCom")
    WEIBO = "weibo", _("Weibo")
    FACEBOOK = "facebook", _("Facebook")
    INSTAGRAM = "instagram", _("Instagram")
    X = "x", _("X")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web")
    # Offline: a purchase or visit recorded by a point-of-sale system.
    STORE = "store", _("In store")


class ConsentChannel(models.TextChoices):
    """Where a permission applies: a contact channel, or every channel at once.

    "In store" is not a channel anyone is contacted on, so it has no consent of its own.
    """

    WECHAT = Channel.WECHAT.value, Channel.WECHAT.label
    WECOM = Channel.WECOM.value, Channel.WECOM.label
    WEIBO = Channel.WEIBO.value, Channel.WEIBO.label
    FACEBOOK = Channel.FACEBOOK.value, Channel.FACEBOOK.label
    INSTAGRAM = Channel.INSTAGRAM.value, Channel.INSTAGRAM.label
    X = Channel.X.value, Channel.X.label
    EMAIL = Channel.EMAIL.value, Channel.EMAIL.label
    SMS = Channel.SMS.value, Channel.SMS.label
    WEB = Channel.WEB.value, Channel.WEB.label
    ALL = "all", _("All channels")


class IdentityKind(models.TextChoices):
    WECHAT_OPENID = "wechat_openid", _("WeChat OpenID")
    WECHAT_UNIONID = "wechat_unionid", _("WeChat UnionID")
    WECOM_EXTERNAL_USERID = "wecom_external_userid", _("WeCom external user ID")
    WEIBO_UID = "weibo_uid", _("Weibo UID")
    FACEBOOK_PSID = "facebook_psid", _("Facebook page-scoped ID")
    INSTAGRAM_ID = "instagram_id", _("Instagram ID")
    X_USER_ID = "x_user_id", _("X user ID")
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    MEMBER_ID = "member_id", _("Membership number")
    DEVICE_ID = "device_id", _("Device ID")


# The channel an identity lets the brand talk on; member and device ids reach no one.
IDENTITY_CHANNEL: dict[str, str | None] = {
    IdentityKind.WECHAT_OPENID: Channel.WECHAT,
    IdentityKind.WECHAT_UNIONID: Channel.WECHAT,
    IdentityKind.WECOM_EXTERNAL_USERID: Channel.WECOM,
    IdentityKind.WEIBO_UID: Channel.WEIBO,
    IdentityKind.FACEBOOK_PSID: Channel.FACEBOOK,
    IdentityKind.INSTAGRAM_ID: Channel.INSTAGRAM,
    IdentityKind.X_USER_ID: Channel.X,
    IdentityKind.EMAIL: Channel.EMAIL,
    IdentityKind.PHONE: Channel.SMS,
    IdentityKind.MEMBER_ID: None,
    IdentityKind.DEVICE_ID: None,
}


# What staff type fragments of into a search box. Platform ids (OpenIDs, PSIDs…) are
# matched whole, so only these carry the trigram index on Identity.value; a search must
# filter on kind__in=SEARCHABLE_IDENTITY_KINDS (or a subset) for PostgreSQL to use it.
SEARCHABLE_IDENTITY_KINDS: tuple[str, ...] = (
    IdentityKind.EMAIL,
    IdentityKind.PHONE,
    IdentityKind.MEMBER_ID,
)
