"""One row's cells into clean values, or a reason per bad cell.

The same functions serve the preview (per cell, shown to the user before the import)
and the Celery task (per row, into the staging table or the error report), so what the
preview flags is exactly what the import rejects. Reasons are short, translated and
name the problem, never a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.channels import Channel
from customers.imports.mapping import ATTRIBUTE_PREFIX
from customers.models import AttributeDefinition, Customer, Order
from customers.normalize import normalize_email, normalize_phone

MAX_AMOUNT = Decimal("999999999999.99")  # Order.amount: 14 digits, 2 decimals
TAG_SPLIT = re.compile(r"[,;，；|、]")
_LENGTHS = {
    "display_name": 200, "city": 100, "province": 100, "locale": 16, "member_id": 255,
    "store": 100, "external_id": 100, "tags": 2000,
}
_ATTRIBUTE_TEXT_LENGTH = 1000
_DATE_FORMATS_YEAR_FIRST = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f")
_GENDERS = {
    "male": "male", "m": "male", "man": "male", "男": "male", "先生": "male",
    "female": "female", "f": "female", "woman": "female", "女": "female", "女士": "female",
    "other": "other", "其他": "other", "unknown": "unknown", "未知": "unknown", "保密": "unknown",
}
_COUNTRIES = {"china": "CN", "中国": "CN", "中国大陆": "CN", "prc": "CN", "hong kong": "HK", "香港": "HK",
              "taiwan": "TW", "台湾": "TW", "macau": "MO", "澳门": "MO", "usa": "US", "united states": "US",
              "美国": "US", "united kingdom": "GB", "uk": "GB", "英国": "GB", "japan": "JP", "日本": "JP",
              "singapore": "SG", "新加坡": "SG"}
_STATUSES = {
    "paid": "paid", "completed": "paid", "complete": "paid", "success": "paid", "已支付": "paid",
    "已付款": "paid", "已完成": "paid", "完成": "paid", "支付成功": "paid",
    "refunded": "refunded", "refund": "refunded", "已退款": "refunded", "退款": "refunded",
    "cancelled": "cancelled", "canceled": "cancelled", "已取消": "cancelled", "取消": "cancelled",
}
_CHANNELS = {str(c.value): str(c.value) for c in Channel} | {
    str(c.label).lower(): str(c.value) for c in Channel
} | {"微信": "wechat", "企业微信": "wecom", "微博": "weibo", "门店": "store", "线下": "store",
     "官网": "web", "网站": "web", "邮件": "email", "短信": "sms", "小程序": "wechat"}
_CURRENCY_SIGNS = {"¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY", "$": "USD", "us$": "USD",
                   "hk$": "HKD", "€": "EUR", "£": "GBP"}
_AMOUNT = re.compile(r"^(?P<before>[^\d\-+.]*)(?P<number>[-+]?[\d,]*\.?\d+)(?P<after>[^\d]*)$")
_TRUE = {"true", "yes", "y", "1", "是", "对", "t"}
_FALSE = {"false", "no", "n", "0", "否", "不", "f"}


class CellError(ValueError):
    """A cell's value is unusable; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Options:
    phone_region: str = "CN"
    day_first: bool = False
    default_currency: str = "CNY"
    default_channel: str = Channel.STORE
    create_customers: bool = False
    time_zone: str = ""

    @classmethod
    def from_job(cls, options: dict[str, Any]) -> Options:
        known = {k: v for k, v in options.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)


@dataclass
class CleanRow:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field key, reason)


# --- cells ---------------------------------------------------------------------------------


def _text(raw: str, key: str) -> str:
    value = raw.strip()
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        value = value[1:]  # our own export's formula guard: a re-import reads the value
    if "\x00" in value:
        raise CellError(_("contains a NUL byte"))
    if any("\udc80" <= c <= "\udcff" for c in value):
        raise CellError(_("contains bytes that are not valid text in this file's encoding"))
    limit = _LENGTHS.get(key)
    if limit and len(value) > limit:
        raise CellError(_("too long (%(length)s characters, at most %(limit)s)") % {"length": len(value), "limit": limit})
    return value


def parse_date(raw: str, options: Options) -> date:
    value = raw.strip()
    if " " in value or "T" in value:  # a datetime's date part
        value = re.split(r"[ T]", value, maxsplit=1)[0]
    for fmt in _DATE_FORMATS_YEAR_FIRST:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date, no zone
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", value)
    if match:
        first, second, year = (int(g) for g in match.groups())
        day, month = (first, second) if options.day_first or first > 12 else (second, first)
        if first > 12 and second > 12:
            raise CellError(_("not a date: %(value)s") % {"value": value[:40]})
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise CellError(_("not a date (use YYYY-MM-DD): %(value)s") % {"value": value[:40]})


def parse_datetime(raw: str, options: Options) -> datetime:
    value = raw.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("/", "-")) if value[:4].isdigit() else None
    except ValueError:
        parsed = None
    if parsed is None:
        day = parse_date(value, options)
        rest = re.split(r"[ T]", value, maxsplit=1)[1:] or [""]
        clock = time(0)
        for fmt in _TIME_FORMATS:
            try:
                clock = datetime.strptime(rest[0].strip(), fmt).time()  # noqa: DTZ007
                break
            except ValueError:
                continue
        else:
            if rest[0].strip():
                raise CellError(_("not a date and time: %(value)s") % {"value": value[:40]})
        parsed = datetime.combine(day, clock)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=options.zone)
    if not 1970 <= parsed.year <= 2100:
        raise CellError(_("date out of range: %(value)s") % {"value": value[:40]})
    return parsed.astimezone(UTC)


def parse_amount(raw: str, options: Options) -> tuple[Decimal, str | None]:
    """(amount, currency from a sign or code in the cell, if any)."""
    value = raw.strip().replace(" ", "").replace("\u00a0", "")
    match = _AMOUNT.match(value)
    if not match:
        raise CellError(_("not an amount: %(value)s") % {"value": value[:40]})
    marker = (match["before"] + match["after"]).strip().lower()
    currency = None
    if marker:
        currency = _CURRENCY_SIGNS.get(marker) or (marker.upper() if re.fullmatch(r"[a-z]{3}", marker) else None)
        if currency is None:
            raise CellError(_("not an amount: %(value)s") % {"value": value[:40]})
    try:
        amount = Decimal(match["number"].replace(",", ""))
    except InvalidOperation as error:
        raise CellError(_("not an amount: %(value)s") % {"value": value[:40]}) from error
    if amount < 0:
        raise CellError(_("negative amount (record refunds with the status column)"))
    if amount > MAX_AMOUNT:
        raise CellError(_("amount too large"))
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), currency


def _currency(raw: str) -> str:
    value = raw.strip()
    code = _CURRENCY_SIGNS.get(value.lower(), value.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise CellError(_("not a currency code (like CNY or USD): %(value)s") % {"value": value[:40]})
    return code


def _choice(table: dict[str, str], what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        found = table.get(raw.strip().lower())
        if found is None:
            raise CellError(_("unknown %(what)s: %(value)s") % {"what": what, "value": raw.strip()[:40]})
        return found

    return parse


def _country(raw: str) -> str:
    value = raw.strip()
    if re.fullmatch(r"[A-Za-z]{2}", value):
        return value.upper()
    found = _COUNTRIES.get(value.lower())
    if found is None:
        raise CellError(_("not a country code (like CN): %(value)s") % {"value": value[:40]})
    return found


def _tags(raw: str) -> list[str]:
    names = [name.strip() for name in TAG_SPLIT.split(raw) if name.strip()]
    for name in names:
        if len(name) > 64:
            raise CellError(_("tag too long (at most 64 characters)"))
    return list(dict.fromkeys(names))


def _attribute(raw: str, definition: AttributeDefinition, options: Options) -> Any:
    value = raw.strip()
    kind = definition.type
    if kind == AttributeDefinition.Type.NUMBER:
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation as error:
            raise CellError(_("not a number: %(value)s") % {"value": value[:40]}) from error
        if not number.is_finite():
            raise CellError(_("not a number: %(value)s") % {"value": value[:40]})
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == AttributeDefinition.Type.DATE:
        return parse_date(value, options).isoformat()
    if kind == AttributeDefinition.Type.BOOL:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise CellError(_("not yes or no: %(value)s") % {"value": value[:40]})
    if kind == AttributeDefinition.Type.CHOICE:
        allowed = [str(c) for c in definition.choices]
        if value not in allowed:
            raise CellError(_("not one of %(choices)s") % {"choices": ", ".join(allowed)[:200]})
        return value
    if len(value) > _ATTRIBUTE_TEXT_LENGTH:
        raise CellError(_("too long (%(length)s characters, at most %(limit)s)") % {"length": len(value), "limit": _ATTRIBUTE_TEXT_LENGTH})
    return value


# --- rows ----------------------------------------------------------------------------------


class RowCleaner:
    """Cleans rows for one import: field key → raw cell, into CleanRow."""

    def __init__(self, *, kind: str, options: Options) -> None:
        self.kind = kind
        self.options = options
        self.attributes = {
            f"{ATTRIBUTE_PREFIX}{d.key}": d
            for d in AttributeDefinition.objects.filter(deleted_at__isnull=True)
        }
        self._phones: dict[str, str | None] = {}

    def cell(self, key: str, raw: str) -> Any:
        """The clean value of one non-empty cell; raises CellError."""
        options = self.options
        if key in self.attributes:
            return _attribute(_text(raw, key), self.attributes[key], options)
        value = _text(raw, key)
        if key == "email":
            email = normalize_email(value)
            if email is None:
                raise CellError(_("not a valid email address"))
            return email
        if key == "phone":
            phone = self._phone(value)
            if phone is None:
                raise CellError(_("not a valid phone number"))
            return phone
        if key == "birthday":
            born = parse_date(value, options)
            if born > timezone.localdate() or born.year < 1900:
                raise CellError(_("birthday out of range: %(value)s") % {"value": value[:40]})
            return born
        if key == "ordered_at":
            return parse_datetime(value, options)
        if key == "amount":
            return parse_amount(value, options)
        if key == "currency":
            return _currency(value)
        if key == "gender":
            return _choice(_GENDERS, _("gender"))(value)
        if key == "status":
            return _choice(_STATUSES, _("status"))(value)
        if key == "channel":
            return _choice(_CHANNELS, _("channel"))(value)
        if key == "country":
            return _country(value)
        if key == "tags":
            return _tags(value)
        return value

    def _phone(self, value: str) -> str | None:
        """normalize_phone, with a shortcut for the common case of a file full of mainland
        mobile numbers written as 11 plain digits: their validity depends only on the
        leading digits (the number plan's ranges end in free digits), so phonenumbers runs
        once per 7-digit prefix instead of once per row."""
        digits = value.replace(" ", "").replace("-", "")
        if self.options.phone_region == "CN" and len(digits) == 11 and digits[0] == "1" and digits.isdigit():
            prefix = digits[:7]
            if prefix not in self._phones:
                self._phones[prefix] = normalize_phone(digits, "CN")
            return "+86" + digits if self._phones[prefix] else None
        return normalize_phone(value, self.options.phone_region)

    def clean(self, cells: dict[str, str]) -> CleanRow:
        row = CleanRow()
        for key, raw in cells.items():
            if not raw or not raw.strip():
                continue
            try:
                row.values[key] = self.cell(key, raw)
            except CellError as error:
                row.errors.append((key, str(error)))
        self._row_rules(row, cells)
        return row

    def _row_rules(self, row: CleanRow, cells: dict[str, str]) -> None:
        values, errors = row.values, row.errors
        bad = {key for key, _reason in errors}
        if not ({"email", "phone", "member_id"} & (set(values) | bad)):
            errors.append(("", _("no email, phone or member ID to identify the customer")))
        if self.kind == "orders":
            for key, label in (("external_id", _("order number")), ("ordered_at", _("order date")), ("amount", _("amount"))):
                if key not in values and key not in bad:
                    errors.append((key, _("%(field)s is missing") % {"field": label}))
            if "amount" in values:
                amount, currency_in_cell = values["amount"]
                values["amount"] = amount
                currency = values.get("currency") or currency_in_cell or self.options.default_currency
                if currency_in_cell and values.get("currency") and currency_in_cell != values["currency"]:
                    errors.append(("amount", _("the amount's currency does not match the currency column")))
                values["currency"] = currency
            values.setdefault("status", Order.Status.PAID)
            values.setdefault("channel", self.options.default_channel)
        else:
            values.setdefault("gender", Customer.Gender.UNKNOWN)
