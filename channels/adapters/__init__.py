"""Adapters by connector kind; the pipeline and the webhook view know only this lookup."""

from __future__ import annotations

from channels.adapters.base import Accepted, Adapter, Rejected
from channels.adapters.email import EmailAdapter
from channels.adapters.meta import MetaAdapter
from channels.adapters.web_api import WebApiAdapter
from channels.adapters.wechat import WeChatAdapter
from channels.adapters.wecom import WeComAdapter
from channels.adapters.weibo import WeiboAdapter
from channels.adapters.x import XAdapter

ADAPTERS: dict[str, Adapter] = {
    "wechat_oa": WeChatAdapter(),
    "wecom": WeComAdapter(),
    "weibo": WeiboAdapter(),
    "facebook": MetaAdapter("facebook"),
    "instagram": MetaAdapter("instagram"),
    "x": XAdapter(),
    "web_api": WebApiAdapter("web_api"),
    "orders": WebApiAdapter("orders"),
    "email": EmailAdapter(),
}


class NoAdapter(LookupError):
    pass


def adapter_for(kind: str) -> Adapter:
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise NoAdapter(f"no adapter for {kind} yet") from None


__all__ = ["Accepted", "Adapter", "NoAdapter", "Rejected", "adapter_for"]
