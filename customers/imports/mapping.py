"""Which column of the file is which field: the fields each kind of import knows, and a
first guess from the file's headers (English or Chinese) that the user can change."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import AttributeDefinition, ImportJob

ATTRIBUTE_PREFIX = "attr:"
IDENTITY_FIELDS = ("email", "phone", "member_id")


@dataclass(frozen=True)
class Field:
    key: str
    label: str | Promise
    synonyms: tuple[str, ...] = ()


_NAME = Field(
    "display_name", gettext_lazy("Name"),
    ("name", "fullname", "displayname", "customername", "customer", "nickname",
     "姓名", "名字", "客户姓名", "客户名称", "昵称", "名称", "会员姓名"),
)
_EMAIL = Field(
    "email", gettext_lazy("Email"),
    ("email", "e-mail", "mail", "emailaddress", "邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址"),
)
_PHONE = Field(
    "phone", gettext_lazy("Phone"),
    ("phone", "mobile", "mobilephone", "cell", "cellphone", "tel", "telephone", "phonenumber",
     "手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "联系方式"),
)
_MEMBER = Field(
    "member_id", gettext_lazy("Member ID"),
    ("memberid", "memberno", "membernumber", "membershipnumber", "membershipid", "cardno",
     "loyaltyid", "会员号", "会员卡号", "会员编号", "会员id", "会员卡", "卡号"),
)

CUSTOMER_FIELDS: tuple[Field, ...] = (
    _NAME, _EMAIL, _PHONE, _MEMBER,
    Field("gender", gettext_lazy("Gender"), ("gender", "sex", "性别")),
    Field("birthday", gettext_lazy("Birthday"),
          ("birthday", "birthdate", "dateofbirth", "dob", "生日", "出生日期", "出生年月日")),
    Field("city", gettext_lazy("City"), ("city", "town", "城市", "所在城市", "市")),
    Field("province", gettext_lazy("Province or state"),
          ("province", "state", "region", "省份", "省", "地区")),
    Field("country", gettext_lazy("Country"), ("country", "countrycode", "国家", "国家/地区")),
    Field("locale", gettext_lazy("Language"), ("locale", "language", "lang", "语言")),
    Field("tags", gettext_lazy("Tags"), ("tags", "tag", "labels", "label", "标签", "客户标签")),
)

ORDER_FIELDS: tuple[Field, ...] = (
    Field("external_id", gettext_lazy("Order number"),
          ("orderid", "orderno", "ordernumber", "order", "ordercode", "订单号", "订单编号", "订单id", "单号")),
    Field("ordered_at", gettext_lazy("Order date"),
          ("orderdate", "orderedat", "date", "time", "orderedon", "purchasedate", "paidat", "createdat",
           "下单时间", "订单时间", "日期", "支付时间", "下单日期", "时间", "购买时间")),
    Field("amount", gettext_lazy("Amount"),
          ("amount", "total", "ordertotal", "orderamount", "price", "revenue", "value", "paid",
           "金额", "订单金额", "实付金额", "总价", "总金额", "支付金额", "实付")),
    Field("currency", gettext_lazy("Currency"), ("currency", "curr", "币种", "货币")),
    Field("status", gettext_lazy("Status"), ("status", "orderstatus", "state", "状态", "订单状态")),
    Field("channel", gettext_lazy("Channel"), ("channel", "source", "saleschannel", "渠道", "来源", "销售渠道")),
    Field("store", gettext_lazy("Store"), ("store", "shop", "storename", "门店", "店铺", "商店")),
    _MEMBER, _EMAIL, _PHONE, _NAME,
)


def fields_for(kind: str) -> tuple[Field, ...]:
    return CUSTOMER_FIELDS if kind == ImportJob.Kind.CUSTOMERS else ORDER_FIELDS


def attribute_fields() -> list[Field]:
    """The brand's custom fields, mappable in customer imports as attr:<key>."""
    return [
        Field(f"{ATTRIBUTE_PREFIX}{d.key}", d.label, (d.key, d.label))
        for d in AttributeDefinition.objects.filter(deleted_at__isnull=True)
    ]


def target_choices(kind: str) -> list[tuple[str, str]]:
    choices = [("", _("— ignore this column —"))]
    choices += [(f.key, str(f.label)) for f in fields_for(kind)]
    if kind == ImportJob.Kind.CUSTOMERS:
        choices += [(f.key, _("Attribute: %(label)s") % {"label": f.label}) for f in attribute_fields()]
    return choices


def _normalized(header: str) -> str:
    return re.sub(r"[\s_\-.:：()（）*]+", "", header.strip().lower())


def guess_mapping(headers: list[str], kind: str) -> dict[str, str]:
    """Column index (as a string, JSON keys) → field key; each field used once, the
    leftmost matching column first."""
    candidates = list(fields_for(kind))
    if kind == ImportJob.Kind.CUSTOMERS:
        candidates += attribute_fields()
    lookup: dict[str, str] = {}
    for field in candidates:
        for synonym in (field.key, *field.synonyms):
            lookup.setdefault(_normalized(str(synonym)), field.key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        key = lookup.get(_normalized(header))
        if key and key not in used:
            mapping[str(index)] = key
            used.add(key)
    return mapping


def missing_required(mapping: dict[str, str], kind: str) -> list[str]:
    """Messages for what the mapping lacks before an import can start."""
    mapped = set(mapping.values())
    problems = []
    if kind == ImportJob.Kind.ORDERS:
        labels = {f.key: f.label for f in ORDER_FIELDS}
        for key in ("external_id", "ordered_at", "amount"):
            if key not in mapped:
                problems.append(_("Map a column to “%(field)s”.") % {"field": labels[key]})
    if not mapped & set(IDENTITY_FIELDS):
        problems.append(_("Map at least one of Email, Phone or Member ID, so rows can be matched to customers."))
    duplicated = sorted({key for key in mapping.values() if list(mapping.values()).count(key) > 1})
    if duplicated:
        problems.append(_("Each field can be mapped from one column only: %(fields)s.") % {"fields": ", ".join(duplicated)})
    return problems
