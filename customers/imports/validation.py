"""Cells into clean values, or a reason per bad cell.

`RowCleaner.clean_chunk` cleans a chunk of rows column by column: the common shapes
(plain text, everyday email addresses, mainland mobiles, ISO dates and times, plain
amounts) take vectorised fast paths that give exactly what `cell` gives, and everything
else goes through `cell` once per distinct value. The preview cleans one row through
the same path (`clean`), so what the preview flags is exactly what the import rejects.
Reasons are short, translated and name the problem, never a stack trace.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
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
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?")
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")
_SURROGATE = re.compile("[\udc80-\udcff]")
_CENT = Decimal("0.01")
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

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)


@dataclass
class CleanRow:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field key, reason)


@dataclass
class CleanChunk:
    """A chunk's clean values by column (None where empty or bad) and its errors by row
    index (in the order `CleanRow.errors` lists them)."""

    rows: int
    values: dict[str, list[Any]] = field(default_factory=dict)
    errors: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    present: dict[str, list[int]] = field(default_factory=dict)  # row indexes with a non-empty cell


# --- cells ---------------------------------------------------------------------------------


def _text(raw: str, key: str) -> str:
    value = raw.strip()
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        value = value[1:]  # our own export's formula guard: a re-import reads the value
    if "\x00" in value:
        raise CellError(_("contains a NUL byte"))
    if _SURROGATE.search(value):
        raise CellError(_("contains bytes that are not valid text in this file's encoding"))
    limit = _LENGTHS.get(key)
    if limit and len(value) > limit:
        raise CellError(_("too long (%(length)s characters, at most %(limit)s)") % {"length": len(value), "limit": limit})
    return value


def parse_date(raw: str, options: Options) -> date:
    value = raw.strip()
    if " " in value or "T" in value:  # a datetime's date part
        value = re.split(r"[ T]", value, maxsplit=1)[0]
    if _ISO_DATE.fullmatch(value):  # the common case; strptime reads it the same, slower
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
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
        self._phones: dict[str, bool] = {}  # 7-digit mainland mobile prefix → valid
        self.today = timezone.localdate()
        self._cells: dict[str, dict[str, tuple[bool, Any]]] = {}  # key → cell → (ok, value or reason)

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
            if born > self.today or born.year < 1900:
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
            return "+86" + digits if self._mobile_prefix_valid(digits) else None
        return normalize_phone(value, self.options.phone_region)

    def _mobile_prefix_valid(self, digits: str) -> bool:
        prefix = digits[:7]
        valid = self._phones.get(prefix)
        if valid is None:
            valid = self._phones[prefix] = normalize_phone(digits, "CN") is not None
        return valid

    def clean(self, cells: dict[str, str]) -> CleanRow:
        """One row (the preview's path): the chunk path on a chunk of one, so a row
        cleans the same whichever way it comes."""
        chunk = self.clean_chunk({key: [raw] for key, raw in cells.items()}, 1)
        values = {key: column[0] for key, column in chunk.values.items() if column[0] is not None}
        return CleanRow(values=values, errors=chunk.errors.get(0, []))

    def clean_chunk(self, columns: dict[str, list[str]], rows: int) -> CleanChunk:
        """Clean a chunk column by column: field key → its raw cells, one per row.

        Every cell gets what `cell` would give it. The common shapes take a fast path
        checked over the whole column at once (plain text, everyday email addresses,
        mainland mobile numbers, ISO dates); any other value goes through `cell` once per
        distinct value (cached for the import), so a file of a few thousand distinct
        cities, dates or tags costs a few thousand calls, not one per row.
        """
        chunk = CleanChunk(rows)
        for key, raw in columns.items():
            stripped = list(map(str.strip, raw))
            present = list(itertools.compress(range(rows), stripped))
            values = [stripped[i] for i in present] if len(present) < rows else stripped
            clean = self._clean_column(key, values, present, chunk.errors) if present else []
            if len(present) == rows:
                chunk.values[key] = clean
            else:
                out: list[Any] = [None] * rows
                for i, value in zip(present, clean, strict=True):
                    out[i] = value
                chunk.values[key] = out
            chunk.present[key] = present
        self._chunk_rules(chunk)
        return chunk

    def _clean_column(
        self, key: str, values: list[str], present: list[int], errors: dict[int, list[tuple[str, str]]],
    ) -> list[Any]:
        """The clean values of a column's non-empty (stripped) cells; None for bad ones,
        whose reasons go to `errors` under their row index (`present`)."""
        is_attribute = key in self.attributes
        fast = None if is_attribute else _FAST.get(key)
        clean = fast(self, values) if fast is not None else [_MISS] * len(values)
        suspect = _suspects(values, None if is_attribute else _LENGTHS.get(key))
        for j in suspect:
            clean[j] = _MISS
        if fast is not None and not suspect and _MISS not in clean:
            return clean
        slow = self._cells.setdefault(key, {})
        for j, value in enumerate(values):
            if clean[j] is not _MISS:
                continue
            found = slow.get(value)
            if found is None:
                try:
                    found = (True, self.cell(key, value))
                except CellError as error:
                    found = (False, str(error))
                if len(slow) >= _CACHE_LIMIT:
                    slow.clear()
                slow[value] = found
            if found[0]:
                clean[j] = found[1]
            else:
                clean[j] = None
                errors.setdefault(present[j], []).append((key, found[1]))
        return clean

    def _fast_email(self, values: list[str]) -> list[Any]:
        lowered = [value.lower() for value in values]
        match = _PLAIN_EMAIL.fullmatch
        return [email if len(email) <= 254 and match(email) else _MISS for email in lowered]

    def _fast_phone(self, values: list[str]) -> list[Any]:
        """11-digit mainland mobiles, bare (in a CN import) or after +86 / 0086 (in any);
        other shapes (spaces, dashes, other countries) go the slow way."""
        pattern = _CN_MOBILE if self.options.phone_region == "CN" else _CN_MOBILE_WITH_CODE
        found = []
        for match in map(pattern.fullmatch, values):
            if match is None:
                found.append(_MISS)
                continue
            digits = match[1]
            valid = self._phones.get(digits[:7])
            if valid is None:
                valid = self._mobile_prefix_valid(digits)
            found.append("+86" + digits if valid else _MISS)
        return found

    def _chunk_rules(self, chunk: CleanChunk) -> None:
        """The row rules of `_row_rules`, over a chunk's columns."""
        values, errors, rows = chunk.values, chunk.errors, chunk.rows
        identified: set[int] = set()
        for key in ("email", "phone", "member_id"):
            identified.update(chunk.present.get(key, ()))
        for i in range(rows) if len(identified) < rows else ():
            if i not in identified:
                errors.setdefault(i, []).append(("", _("no email, phone or member ID to identify the customer")))
        if self.kind == "orders":
            for key, label in (("external_id", _("order number")), ("ordered_at", _("order date")), ("amount", _("amount"))):
                present = set(chunk.present.get(key, ()))
                if len(present) < rows:
                    reason = _("%(field)s is missing") % {"field": label}
                    for i in range(rows):
                        if i not in present:
                            errors.setdefault(i, []).append((key, reason))
            amounts = values.get("amount", [None] * rows)
            currencies = values.setdefault("currency", [None] * rows)
            mismatch = _("the amount's currency does not match the currency column")
            default = self.options.default_currency
            for i, pair in enumerate(amounts):
                if pair is None:
                    continue
                amount, in_cell = pair
                amounts[i] = amount
                column = currencies[i]
                if in_cell and column and in_cell != column:
                    errors.setdefault(i, []).append(("amount", mismatch))
                currencies[i] = column or in_cell or default
            _default(values, "status", Order.Status.PAID, rows)
            _default(values, "channel", self.options.default_channel, rows)
        else:
            _default(values, "gender", Customer.Gender.UNKNOWN, rows)


_MISS = object()
_CACHE_LIMIT = 200_000
# A strict subset of what Django's EmailValidator accepts (dot-atom local part of common
# characters, LDH labels, alphabetic TLD): a match needs no further check.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_CN_MOBILE = re.compile(r"(?:\+86|0086)?(1[0-9]{10})")
_CN_MOBILE_WITH_CODE = re.compile(r"(?:\+86|0086)(1[0-9]{10})")
_SUSPECT = re.compile("[\x00\udc80-\udcff]")
_TEXT_KEYS = ("display_name", "city", "province", "locale", "member_id", "store", "external_id")


def _plain_text(cleaner: RowCleaner, values: list[str]) -> list[Any]:
    return list(values)


def _birthday(cleaner: RowCleaner, values: list[str]) -> list[Any]:
    """ISO dates from 1900 up to today; any other shape goes the slow way."""
    today = cleaner.today
    found: list[Any] = []
    for value in values:
        try:
            born = date.fromisoformat(value) if _ISO_DATE.fullmatch(value) else _MISS
        except ValueError:
            born = _MISS
        found.append(born if born is _MISS or 1900 <= born.year and born <= today else _MISS)
    return found


def _ordered_at(cleaner: RowCleaner, values: list[str]) -> list[Any]:
    """ISO dates and times without a zone (read in the import's zone), 1970 to 2100."""
    zone = cleaner.options.zone
    found: list[Any] = []
    for value in values:
        parsed = _MISS
        if _ISO_DATETIME.fullmatch(value):
            try:
                local = datetime.fromisoformat(value).replace(tzinfo=zone)
            except ValueError:
                pass
            else:
                if 1970 <= local.year <= 2100:
                    parsed = local.astimezone(UTC)
        found.append(parsed)
    return found


def _amount(cleaner: RowCleaner, values: list[str]) -> list[Any]:
    """Plain numbers with at most 12 digits and 2 decimals: exact, in range, no currency."""
    match = _PLAIN_AMOUNT.fullmatch
    return [(Decimal(value).quantize(_CENT), None) if match(value) else _MISS for value in values]


_FAST: dict[str, Callable[[RowCleaner, list[str]], list[Any]]] = {
    **dict.fromkeys(_TEXT_KEYS, _plain_text),
    "email": RowCleaner._fast_email,
    "phone": RowCleaner._fast_phone,
    "birthday": _birthday,
    "ordered_at": _ordered_at,
    "amount": _amount,
}


def _suspects(values: list[str], limit: int | None) -> list[int]:
    """Cells `_text` might change or refuse (NUL, undecodable bytes, the formula guard,
    over the length limit): judged over the whole column first, cell by cell only if
    the column holds any."""
    joined = "\n".join(values)
    if (
        _SUSPECT.search(joined) is None and "\n'" not in "\n" + joined
        and (limit is None or max(map(len, values)) <= limit)
    ):
        return []
    return [
        j for j, value in enumerate(values)
        if _SUSPECT.search(value) or value[:1] == "'" or (limit is not None and len(value) > limit)
    ]


def _default(values: dict[str, list[Any]], key: str, default: Any, rows: int) -> None:
    column = values.get(key)
    values[key] = [default] * rows if column is None else [default if v is None else v for v in column]
