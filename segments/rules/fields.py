"""What a condition may test: every field, its operators, its extra parameters, and how its
positive operators compile to a Q. Negative operators (neq, not_in, has_not…) are the
NOT of their positive twin, applied by the compiler, so each field says only what
"matches" means.

Where a denormalized aggregate on Customer answers a question exactly (interaction
counts per channel in the 7/30/90-day windows, paid order count and revenue) it is used;
anything else is an EXISTS or a correlated subquery served by the (customer, time)
indexes on Interaction and Order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    Expression,
    F,
    FloatField,
    Func,
    IntegerField,
    Lookup,
    OuterRef,
    Q,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.channels import IDENTITY_CHANNEL, Channel, ConsentChannel
from customers.models import (
    OUTBOUND_INTERACTION_KINDS,
    AttributeDefinition,
    Consent,
    Customer,
    CustomerTag,
    Identity,
    Interaction,
    InteractionKind,
    Order,
)
from customers.selectors import ILikeContains

# --- operators ---------------------------------------------------------------------------

OPERATOR_LABELS: dict[str, Any] = {
    "eq": _("is"), "neq": _("is not"), "contains": _("contains"), "not_contains": _("does not contain"),
    "in": _("is one of"), "not_in": _("is none of"), "is_set": _("is set"), "not_set": _("is not set"),
    "gt": _("more than"), "gte": _("at least"), "lt": _("less than"), "lte": _("at most"),
    "between": _("between"), "on": _("on"), "before": _("before"), "after": _("after"),
    "in_last_days": _("in the last N days"), "more_than_days_ago": _("more than N days ago"),
    "is_true": _("is yes"), "is_false": _("is no"), "has": _("has"), "has_not": _("has not"),
    "has_any": _("has any of"), "has_all": _("has all of"), "has_none": _("has none of"),
}  # fmt: skip

# Each negative operator is NOT(its positive twin).
NEGATIONS = {
    "neq": "eq", "not_contains": "contains", "not_in": "in", "not_set": "is_set",
    "is_false": "is_true", "has_not": "has", "has_none": "has_any",
}  # fmt: skip

TEXT_OPS = ("eq", "neq", "contains", "not_contains", "in", "not_in", "is_set", "not_set")
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
DATE_OPS = ("on", "before", "after", "between", "is_set", "not_set")
DATETIME_OPS = ("before", "after", "between", "in_last_days", "more_than_days_ago", "is_set", "not_set")
CHOICE_OPS = ("eq", "neq", "in", "not_in", "is_set", "not_set")
BOOL_OPS = ("is_true", "is_false")
PRESENCE_OPS = ("has", "has_not")
TAG_OPS = ("has_any", "has_all", "has_none")
ID_OPS = ("in", "not_in")

MAX_LIST = 100_000
MAX_TEXT = 1_000
MAX_DAYS = 36_500


class ValueProblem(ValueError):
    """A condition's value or parameter is wrong; the message is shown to the person."""


@dataclass(frozen=True)
class Param:
    name: str
    label: Any
    kind: str  # "choice", "days", "text"
    choices: tuple[tuple[str, Any], ...] = ()
    required: bool = False
    default: Any = ""


@dataclass
class Context:
    now: datetime
    # Compiles another segment's membership condition (cycle-checked by the compiler).
    segment: Callable[[int], Q]


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    group: Any
    type: str  # text, number, date, datetime, choice, bool, tags, presence, id
    ops: tuple[str, ...]
    build: Callable[[str, Any, dict[str, Any], Context], Q]
    params: tuple[Param, ...] = ()
    choices: tuple[tuple[str, Any], ...] = ()
    value_kind: str = ""  # for presence fields: what "value" names (channel, skus, segment)
    help: Any = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --- lookups and expressions -------------------------------------------------------------


class AnyOf(Lookup):
    """`lhs = ANY(%s::type[])`: one array parameter however long the list (a 10,000-value
    IN list is one bind value, not 10,000)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # noqa: ANN001, ANN201
        lhs, lhs_params = self.process_lhs(compiler, connection)
        db_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, list(self.rhs)]


def _json_typeof(key: str) -> Func:
    return Func(KeyTransform(key, "attributes"), function="jsonb_typeof", output_field=CharField())


def _number_attribute(key: str) -> Expression:
    """A custom number attribute as a float, NULL when absent or not a JSON number (a
    stray string never makes the cast fail)."""
    return Case(
        When(Q(Exact(_json_typeof(key), Value("number"))), then=Cast(KT(f"attributes__{key}"), FloatField())),
        default=Value(None, output_field=FloatField()),
    )


def _date_attribute(key: str) -> Expression:
    return Case(
        When(Q(Exact(_json_typeof(key), Value("string"))), then=KT(f"attributes__{key}")),
        default=Value(None, output_field=TextField()),
        output_field=TextField(),
    )


def _compare(expr: Expression | F, op: str, value: Any) -> Q:
    if op == "eq":
        return Q(Exact(expr, value))
    if op == "gt":
        return Q(GreaterThan(expr, value))
    if op == "gte":
        return Q(GreaterThanOrEqual(expr, value))
    if op == "lt":
        return Q(LessThan(expr, value))
    if op == "lte":
        return Q(LessThanOrEqual(expr, value))
    if op == "between":
        return Q(GreaterThanOrEqual(expr, value[0])) & Q(LessThanOrEqual(expr, value[1]))
    raise AssertionError(op)


def _is_not_null(expr: Expression | F) -> Q:
    from django.db.models.lookups import IsNull

    return Q(IsNull(expr, False))


# --- values ------------------------------------------------------------------------------


def clean_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(_("expects text"))
    if len(value) > MAX_TEXT:
        raise ValueProblem(_("text is longer than %(max)s characters") % {"max": MAX_TEXT})
    if "\x00" in value:
        raise ValueProblem(_("text contains a NUL character"))
    return value


def clean_list(value: Any, item: Callable[[Any], Any]) -> list[Any]:
    if isinstance(value, str):  # "a, b, c" typed in one box
        value = [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise ValueProblem(_("expects a non-empty list"))
    if len(value) > MAX_LIST:
        raise ValueProblem(_("a list may hold at most %(max)s values") % {"max": MAX_LIST})
    return [item(v) for v in value]


def clean_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueProblem(_("expects a number"))
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueProblem(_("expects a number")) from None
    if not isinstance(value, int | float) or value != value or abs(value) > 1e15:
        raise ValueProblem(_("expects a number"))
    return value


def clean_int(value: Any) -> int:
    number = clean_number(value)
    if number != int(number):
        raise ValueProblem(_("expects a whole number"))
    return int(number)


def clean_days(value: Any) -> int:
    days = clean_int(value)
    if not 0 <= days <= MAX_DAYS:
        raise ValueProblem(_("days must be between 0 and %(max)s") % {"max": MAX_DAYS})
    return days


def clean_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueProblem(_("expects a date (YYYY-MM-DD)"))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueProblem(_("expects a date (YYYY-MM-DD)")) from None


def clean_pair(value: Any, item: Callable[[Any], Any]) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueProblem(_("expects two values (from, to)"))
    low, high = item(value[0]), item(value[1])
    if low > high:
        raise ValueProblem(_("the first value must not be after the second"))
    return low, high


def clean_choice(value: Any, choices: tuple[tuple[str, Any], ...]) -> str:
    allowed = {key for key, _label in choices}
    if value not in allowed:
        raise ValueProblem(_("“%(value)s” is not one of the choices") % {"value": str(value)[:100]})
    return value


def clean_value(f: Field, op: str, value: Any) -> Any:
    """The operator's value in its Python type; raises ValueProblem."""
    positive = NEGATIONS.get(op, op)
    if positive in ("is_set", "is_true") or (f.type == "presence" and f.value_kind == ""):
        return None
    if f.type in ("text",):
        return clean_list(value, clean_text) if positive == "in" else clean_text(value)
    if f.type == "id":
        return clean_list(value, clean_int)
    if f.type == "choice":
        item = (lambda v: clean_choice(v, f.choices)) if f.choices else clean_text
        return clean_list(value, item) if positive == "in" else item(value)
    if f.type == "number":
        return clean_pair(value, clean_number) if positive == "between" else clean_number(value)
    if f.type in ("date", "datetime"):
        if positive in ("in_last_days", "more_than_days_ago"):
            return clean_days(value)
        return clean_pair(value, clean_date) if positive == "between" else clean_date(value)
    if f.type == "tags":
        return clean_list(value, clean_text)
    if f.type == "presence":
        if f.value_kind == "skus":
            return clean_list(value, clean_text)
        if f.value_kind == "segment":
            return clean_int(value)
        return clean_choice(value, f.choices)
    raise AssertionError(f.type)


# --- shared builders ---------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def build_text(expr_of: Callable[[], Any]) -> Callable[[str, Any, dict[str, Any], Context], Q]:
    def build(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
        expr = expr_of()
        if op == "eq":
            return Q(Exact(expr, value))
        if op == "contains":
            return Q(ILikeContains(expr, value))
        if op == "in":
            return Q(AnyOf(expr, value))
        if op == "is_set":
            return ~Q(Exact(Coalesce(expr, Value(""), output_field=TextField()), Value("")))
        raise AssertionError(op)

    return build


def build_number(expr_of: Callable[[], Any], *, decimal: bool = False) -> Callable[..., Q]:
    def build(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
        expr = expr_of()
        if decimal:
            value = (
                (Decimal(str(value[0])), Decimal(str(value[1])))
                if isinstance(value, tuple) else Decimal(str(value))
            )
        return _is_not_null(expr) & _compare(expr, op, value)

    return build


def build_date(expr_of: Callable[[], Any], *, as_text: bool = False) -> Callable[..., Q]:
    """A date column (or an ISO date string when as_text) against calendar dates."""

    def build(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
        expr = expr_of()
        conv = (lambda d: d.isoformat()) if as_text else (lambda d: d)
        if op == "is_set":
            return _is_not_null(expr) if not as_text else ~Q(Exact(Coalesce(expr, Value(""), output_field=TextField()), Value("")))
        if op == "on":
            return Q(Exact(expr, conv(value)))
        if op == "before":
            return Q(LessThan(expr, conv(value)))
        if op == "after":
            return Q(GreaterThan(expr, conv(value)))
        if op == "between":
            return Q(GreaterThanOrEqual(expr, conv(value[0]))) & Q(LessThanOrEqual(expr, conv(value[1])))
        raise AssertionError(op)

    return build


def build_datetime(expr_of: Callable[[dict[str, Any], Context], Any]) -> Callable[..., Q]:
    """A timestamp against calendar days (in the brand's time zone) or relative windows."""

    def build(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
        expr = expr_of(params, ctx)
        if op == "is_set":
            return _is_not_null(expr)
        if op == "before":
            return Q(LessThan(expr, _day_start(value)))
        if op == "after":
            return Q(GreaterThanOrEqual(expr, _day_start(value + timedelta(days=1))))
        if op == "between":
            return Q(GreaterThanOrEqual(expr, _day_start(value[0]))) & Q(
                LessThan(expr, _day_start(value[1] + timedelta(days=1)))
            )
        if op == "in_last_days":
            return Q(GreaterThanOrEqual(expr, ctx.now - timedelta(days=value)))
        if op == "more_than_days_ago":
            return Q(LessThan(expr, ctx.now - timedelta(days=value)))
        raise AssertionError(op)

    return build


def build_choice(expr_of: Callable[[], Any]) -> Callable[..., Q]:
    def build(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
        expr = expr_of()
        if op == "eq":
            return Q(Exact(expr, value))
        if op == "in":
            return Q(AnyOf(expr, value))
        if op == "is_set":
            return ~Q(Exact(Coalesce(expr, Value(""), output_field=TextField()), Value("")))
        raise AssertionError(op)

    return build


# --- behaviour, orders and the rest ------------------------------------------------------

INBOUND_KINDS = tuple(k.value for k in InteractionKind if k not in OUTBOUND_INTERACTION_KINDS)
KIND_CHOICES = (("", _("Any activity")), *((k.value, k.label) for k in InteractionKind))
CHANNEL_CHOICES = (("", _("Any channel")), *Channel.choices)
IDENTITY_CHANNELS = tuple(
    (c.value, c.label) for c in Channel if c.value in set(IDENTITY_CHANNEL.values())
)
CAMPAIGN_KINDS = tuple(
    (k.value, k.label)
    for k in (
        InteractionKind.CAMPAIGN_DELIVERED, InteractionKind.CAMPAIGN_READ,
        InteractionKind.CAMPAIGN_CLICKED, InteractionKind.POLL_VOTE, InteractionKind.REFERRAL,
    )
)  # fmt: skip
DENORMALIZED_WINDOWS = (7, 30, 90)

P_KIND = Param("kind", _("kind"), "choice", KIND_CHOICES)
P_CHANNEL = Param("channel", _("channel"), "choice", CHANNEL_CHOICES)
P_DAYS = Param("days", _("in the last (days)"), "days", required=True, default=30)
P_DAYS_OPTIONAL = Param("days", _("in the last (days, 0 = ever)"), "days", default=0)


def _interactions(params: dict[str, Any], ctx: Context, *, windowed: bool = True):  # noqa: ANN202
    rows = Interaction.objects.filter(customer=OuterRef("pk"))
    if params.get("kind"):
        rows = rows.filter(kind=params["kind"])
    else:
        rows = rows.filter(kind__in=INBOUND_KINDS)
    if params.get("channel"):
        rows = rows.filter(channel=params["channel"])
    if windowed and params.get("days"):
        rows = rows.filter(occurred_at__gte=ctx.now - timedelta(days=params["days"]))
    return rows.order_by()


def _interaction_count_expr(params: dict[str, Any], ctx: Context) -> Expression:
    """The denormalized per-channel window counts when they answer exactly (any inbound
    kind, a 7/30/90-day window, as of the last aggregate refresh), else a count."""
    days = params["days"]
    if not params.get("kind") and days in DENORMALIZED_WINDOWS:
        if params.get("channel"):
            return Coalesce(
                Cast(KT(f"interaction_counts__{params['channel']}__{days}"), IntegerField()), 0
            )
        if days == 30:
            return F("total_interactions_30d")
    counted = _interactions(params, ctx).values("customer").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def build_interaction_count(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
    if (op == "gte" and value == 1) or (op == "gt" and value == 0):
        return Q(Exists(_interactions(params, ctx)))
    return _compare(_interaction_count_expr(params, ctx), op, value)


def _interaction_time(which: str) -> Callable[[dict[str, Any], Context], Expression]:
    def expr(params: dict[str, Any], ctx: Context) -> Expression:
        order = "-occurred_at" if which == "last" else "occurred_at"
        return Subquery(
            _interactions(params, ctx, windowed=False).order_by(order).values("occurred_at")[:1]
        )

    return expr


def _paid_orders(params: dict[str, Any], ctx: Context):  # noqa: ANN202
    rows = Order.objects.filter(customer=OuterRef("pk"), status=Order.Status.PAID)
    if params.get("channel"):
        rows = rows.filter(channel=params["channel"])
    if params.get("days"):
        rows = rows.filter(ordered_at__gte=ctx.now - timedelta(days=params["days"]))
    return rows.order_by()


def _order_metric(metric: str) -> Callable[[str, Any, dict[str, Any], Context], Q]:
    def build(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
        everything = not params.get("days") and not params.get("channel")
        if metric == "count":
            if everything:
                expr: Any = F("order_count")
            else:
                counted = _paid_orders(params, ctx).values("customer").annotate(n=Count("*")).values("n")
                expr = Coalesce(Subquery(counted, output_field=IntegerField()), 0)
            return _compare(expr, op, value)
        money = DecimalField(max_digits=14, decimal_places=2)
        if metric == "sum" and everything:
            expr = F("revenue")
        else:
            aggregate = Sum("amount") if metric == "sum" else Avg("amount")
            summed = _paid_orders(params, ctx).values("customer").annotate(v=aggregate).values("v")
            expr = Subquery(summed, output_field=money)
            if metric == "sum":
                expr = Coalesce(expr, Value(Decimal("0.00")), output_field=money)
        return build_number(lambda: expr, decimal=True)(op, value, params, ctx)

    return build


def build_bought_product(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
    matches = Q()
    for sku in value:
        matches |= Q(items__contains=[{"sku": sku}])
    return Q(Exists(_paid_orders(params, ctx).filter(matches)))


def build_sentiment(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
    rows = Interaction.objects.filter(customer=OuterRef("pk"), sentiment__isnull=False)
    if params.get("channel"):
        rows = rows.filter(channel=params["channel"])
    if params.get("days"):
        rows = rows.filter(occurred_at__gte=ctx.now - timedelta(days=params["days"]))
    averaged = rows.order_by().values("customer").annotate(v=Avg("sentiment")).values("v")
    expr = Subquery(averaged, output_field=FloatField())
    return _is_not_null(expr) & _compare(expr, op, value)


def build_campaign_response(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
    rows = Interaction.objects.filter(customer=OuterRef("pk"), kind=params["kind"])
    if params.get("days"):
        rows = rows.filter(occurred_at__gte=ctx.now - timedelta(days=params["days"]))
    if params.get("campaign"):
        key = "poll_id" if params["kind"] == InteractionKind.POLL_VOTE else "campaign_id"
        rows = rows.filter(Q(Exact(KT(f"metadata__{key}"), params["campaign"])))
    return Q(Exists(rows.order_by()))


def build_identity(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
    kinds = [str(kind) for kind, reached in IDENTITY_CHANNEL.items() if reached == value]
    return Q(Exists(Identity.objects.filter(customer=OuterRef("pk"), kind__in=kinds)))


CONSENT_STATUSES = (
    ("granted", _("Granted")), ("withdrawn", _("Withdrawn")), ("unknown", _("Never recorded")),
)  # fmt: skip


def build_consent(op: str, value: Any, params: dict[str, Any], _ctx: Context) -> Q:
    """The current status: the latest row for this channel or for "all channels"."""
    rows = Consent.objects.filter(
        customer=OuterRef("pk"), purpose=params["purpose"],
        channel__in=sorted({params["channel"], ConsentChannel.ALL.value}),
    )
    if value == "unknown":
        return ~Q(Exists(rows))
    latest = rows.order_by("-recorded_at", "-id").values("status")[:1]
    return Q(Exact(Subquery(latest, output_field=CharField()), Value(value)))


def build_tags(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
    if op == "has_any":
        return Q(Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag__name__in=value)))
    matches = Q()
    for name in dict.fromkeys(value):
        matches &= Q(Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag__name=name)))
    return matches


def build_segment(op: str, value: Any, _params: dict[str, Any], ctx: Context) -> Q:
    return ctx.segment(value)


def build_score(column: str, kind: str) -> Callable[..., Q]:
    from segments.models import CustomerScore

    def build(op: str, value: Any, params: dict[str, Any], ctx: Context) -> Q:
        inner = build_choice(lambda: F(column)) if kind == "choice" else build_number(lambda: F(column))
        return Q(Exists(CustomerScore.objects.filter(inner(op, value, params, ctx), customer=OuterRef("pk"))))

    return build


def build_id(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
    return Q(AnyOf(F("id"), value))


# --- the catalogue -----------------------------------------------------------------------

PROFILE, CUSTOM, TAGS, CHANNELS, BEHAVIOUR, ORDERS, SCORES, CAMPAIGNS, SEGMENTS = (
    _("Profile"), _("Custom attributes"), _("Tags"), _("Channels and consent"), _("Behaviour"),
    _("Orders"), _("Scores"), _("Campaigns"), _("Segments"),
)  # fmt: skip
FIELD_GROUPS = (PROFILE, CUSTOM, TAGS, CHANNELS, BEHAVIOUR, ORDERS, SCORES, CAMPAIGNS, SEGMENTS)


def _column(name: str) -> Callable[[], F]:
    return lambda: F(name)


def _column_dt(name: str) -> Callable[[dict[str, Any], Context], F]:
    return lambda _params, _ctx: F(name)


def _static_fields() -> list[Field]:
    from segments.models import Lifecycle, Participation, RFMGroup, Tier

    fields = [
        Field("display_name", _("Name"), PROFILE, "text", TEXT_OPS, build_text(_column("display_name"))),
        Field("city", _("City"), PROFILE, "text", TEXT_OPS, build_text(_column("city"))),
        Field("province", _("Province or state"), PROFILE, "text", TEXT_OPS, build_text(_column("province"))),
        Field("country", _("Country code"), PROFILE, "text", TEXT_OPS, build_text(_column("country"))),
        Field("locale", _("Language"), PROFILE, "text", TEXT_OPS, build_text(_column("locale"))),
        Field("gender", _("Gender"), PROFILE, "choice", CHOICE_OPS, build_choice(_column("gender")),
              choices=tuple(Customer.Gender.choices)),
        Field("birthday", _("Birthday"), PROFILE, "date", DATE_OPS, build_date(_column("birthday"))),
        Field("first_seen_at", _("First seen"), PROFILE, "datetime", DATETIME_OPS, build_datetime(_column_dt("first_seen_at"))),
        Field("last_seen_at", _("Last seen"), PROFILE, "datetime", DATETIME_OPS, build_datetime(_column_dt("last_seen_at"))),
        Field("id", _("Customer ID"), PROFILE, "id", ID_OPS, build_id, help=_("A list of customer IDs.")),
        Field("tags", _("Tags"), TAGS, "tags", TAG_OPS, build_tags),
        Field("identity", _("Reachable on"), CHANNELS, "presence", PRESENCE_OPS, build_identity,
              choices=IDENTITY_CHANNELS, value_kind="channel"),
        Field("consent", _("Consent"), CHANNELS, "choice", ("eq", "neq"), build_consent,
              params=(Param("channel", _("channel"), "choice", tuple(ConsentChannel.choices), required=True, default="wechat"),
                      Param("purpose", _("purpose"), "choice", tuple(Consent.Purpose.choices), required=True, default="marketing")),
              choices=CONSENT_STATUSES),
        Field("interactions", _("Number of interactions"), BEHAVIOUR, "number", NUMBER_OPS, build_interaction_count,
              params=(P_KIND, P_CHANNEL, P_DAYS)),
        Field("last_interaction_at", _("Last interaction"), BEHAVIOUR, "datetime", DATETIME_OPS,
              build_datetime(_interaction_time("last")), params=(P_KIND, P_CHANNEL)),
        Field("first_interaction_at", _("First interaction"), BEHAVIOUR, "datetime", DATETIME_OPS,
              build_datetime(_interaction_time("first")), params=(P_KIND, P_CHANNEL)),
        Field("sentiment", _("Average sentiment (−1 to 1)"), BEHAVIOUR, "number", NUMBER_OPS, build_sentiment,
              params=(P_CHANNEL, P_DAYS_OPTIONAL)),
        Field("orders_count", _("Number of paid orders"), ORDERS, "number", NUMBER_OPS, _order_metric("count"),
              params=(P_DAYS_OPTIONAL, P_CHANNEL)),
        Field("orders_sum", _("Total spent"), ORDERS, "number", NUMBER_OPS, _order_metric("sum"),
              params=(P_DAYS_OPTIONAL, P_CHANNEL)),
        Field("orders_avg", _("Average order value"), ORDERS, "number", NUMBER_OPS, _order_metric("avg"),
              params=(P_DAYS_OPTIONAL, P_CHANNEL)),
        Field("last_order_at", _("Last paid order"), ORDERS, "datetime", DATETIME_OPS, build_datetime(_column_dt("last_order_at"))),
        Field("bought_product", _("Bought product (SKU)"), ORDERS, "presence", PRESENCE_OPS, build_bought_product,
              params=(P_DAYS_OPTIONAL,), value_kind="skus"),
        Field("campaign_response", _("Campaign response"), CAMPAIGNS, "presence", PRESENCE_OPS, build_campaign_response,
              params=(Param("kind", _("response"), "choice", CAMPAIGN_KINDS, required=True, default="campaign_clicked"),
                      Param("campaign", _("campaign or poll ID (optional)"), "text"), P_DAYS_OPTIONAL)),
        Field("segment", _("Member of segment"), SEGMENTS, "presence", PRESENCE_OPS, build_segment, value_kind="segment"),
        Field("score.rfm_group", _("RFM group"), SCORES, "choice", CHOICE_OPS, build_score("rfm_group", "choice"), choices=tuple(RFMGroup.choices)),
        Field("score.lifecycle", _("Lifecycle stage"), SCORES, "choice", CHOICE_OPS, build_score("lifecycle", "choice"), choices=tuple(Lifecycle.choices)),
        Field("score.tier", _("Value tier"), SCORES, "choice", CHOICE_OPS, build_score("tier", "choice"), choices=tuple(Tier.choices)),
        Field("score.participation", _("Participation"), SCORES, "choice", CHOICE_OPS, build_score("participation", "choice"), choices=tuple(Participation.choices)),
        Field("score.r", _("RFM recency quintile (1–5)"), SCORES, "number", NUMBER_OPS, build_score("r", "number")),
        Field("score.f", _("RFM frequency quintile (1–5)"), SCORES, "number", NUMBER_OPS, build_score("f", "number")),
        Field("score.m", _("RFM monetary quintile (1–5)"), SCORES, "number", NUMBER_OPS, build_score("m", "number")),
        Field("score.activity", _("Activity score"), SCORES, "number", NUMBER_OPS, build_score("activity", "number")),
        Field("score.influence", _("Influence score"), SCORES, "number", NUMBER_OPS, build_score("influence", "number")),
        Field("score.value", _("Value score (0–100)"), SCORES, "number", NUMBER_OPS, build_score("value", "number")),
    ]  # fmt: skip
    return fields


def attribute_field(definition: AttributeDefinition) -> Field:
    key = definition.key
    name, label = f"attr.{key}", definition.label
    kind = definition.type
    if kind == AttributeDefinition.Type.NUMBER:
        return Field(name, label, CUSTOM, "number", NUMBER_OPS, build_number(lambda: _number_attribute(key)))
    if kind == AttributeDefinition.Type.DATE:
        return Field(name, label, CUSTOM, "date", DATE_OPS, build_date(lambda: _date_attribute(key), as_text=True))
    if kind == AttributeDefinition.Type.BOOL:

        def build_bool(op: str, value: Any, _params: dict[str, Any], _ctx: Context) -> Q:
            return Q(**{f"attributes__{key}": True})

        return Field(name, label, CUSTOM, "bool", BOOL_OPS, build_bool)
    if kind == AttributeDefinition.Type.CHOICE:
        choices = tuple((str(c), str(c)) for c in definition.choices or ())
        return Field(name, label, CUSTOM, "choice", CHOICE_OPS, build_choice(lambda: KT(f"attributes__{key}")), choices=choices)
    return Field(name, label, CUSTOM, "text", TEXT_OPS, build_text(lambda: KT(f"attributes__{key}")))


def field_catalog() -> dict[str, Field]:
    """Every field a rule may use in the current brand (custom attributes included)."""
    fields = {f.name: f for f in _static_fields()}
    for definition in AttributeDefinition.objects.filter(deleted_at__isnull=True):
        fields[f"attr.{definition.key}"] = attribute_field(definition)
    return fields

