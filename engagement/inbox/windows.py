"""Platform reply windows: when an agent may still answer, and what is possible when not.

WeChat Official Accounts may send customer-service messages for 48 hours after the
customer's last message; Messenger and Instagram allow standard messages for 24 hours and,
with the HUMAN_AGENT tag, up to 7 days. Other channels have no window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

# channel → (standard window, extended window with a message tag or None)
WINDOWS: dict[str, tuple[timedelta, timedelta | None]] = {
    "wechat": (timedelta(hours=48), None),
    "facebook": (timedelta(hours=24), timedelta(days=7)),
    "instagram": (timedelta(hours=24), timedelta(days=7)),
}


@dataclass(frozen=True)
class ReplyWindow:
    can_reply: bool
    closes_at: datetime | None = None
    # Set when only a tagged (human agent) reply is possible.
    needs_tag: bool = False
    reason: str = ""
    alternatives: str = ""


def reply_window(*, channel: str, last_inbound_at: datetime | None, now: datetime) -> ReplyWindow:
    if channel not in WINDOWS:
        return ReplyWindow(can_reply=True)
    standard, extended = WINDOWS[channel]
    if last_inbound_at is None:
        return ReplyWindow(
            can_reply=False, reason=str(_("The customer has not written to us on this channel yet.")),
            alternatives=str(_("Wait for the customer to write, or reach them on another channel.")),
        )
    if now < last_inbound_at + standard:
        return ReplyWindow(can_reply=True, closes_at=last_inbound_at + standard)
    if extended and now < last_inbound_at + extended:
        return ReplyWindow(
            can_reply=True, needs_tag=True, closes_at=last_inbound_at + extended,
            reason=str(_("More than 24 hours have passed since the customer's last message.")),
            alternatives=str(_("A reply is still possible for 7 days with the human agent tag; it will be sent with that tag.")),
        )
    if channel == "wechat":
        return ReplyWindow(
            can_reply=False, closes_at=last_inbound_at + standard,
            reason=str(_("WeChat allows customer-service replies only within 48 hours of the customer's last message.")),
            alternatives=str(_("Send an approved template message from a campaign, or wait for the customer to write again. Internal notes are still possible.")),
        )
    return ReplyWindow(
        can_reply=False, closes_at=last_inbound_at + (extended or standard),
        reason=str(_("The platform's reply window has closed (7 days after the customer's last message).")),
        alternatives=str(_("Wait for the customer to write again, or reach them on another channel. Internal notes are still possible.")),
    )
