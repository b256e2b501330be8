"""Validate a rule tree and compile it to one Q over live customers.

Grammar (JSON):
    node      := group | not | condition
    group     := {"all": [node, ...]} | {"any": [node, ...]}   (empty all = everyone,
                                                                empty any = no one)
    not       := {"not": node}
    condition := {"field": name, "op": operator, "value": ..., <params>}

Fields, operators and parameters are listed in segments.rules.fields. Every error is
collected (not only the first) and names where it is: "1.2 City: …". Values are bound
parameters of the one query; nothing filters customers in Python.

NULL never leaks into a NOT: a negated subtree is COALESCE(subtree, false), so "not
(average sentiment > 0.5)" includes customers with no sentiment at all, exactly as a
person (and the reference evaluator in the tests) reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext as _

from segments.rules.fields import (
    NEGATIONS,
    OPERATOR_LABELS,
    Context,
    Field,
    ValueProblem,
    clean_choice,
    clean_days,
    clean_text,
    clean_value,
    field_catalog,
)

MAX_DEPTH = 12
MAX_NODES = 500
EVERYONE = Q(Exact(Value(1), 1))
NO_ONE = Q(Exact(Value(1), 0))


class RuleError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def negate(q: Q) -> Q:
    return ~Q(Exact(Coalesce(ExpressionWrapper(q, output_field=BooleanField()), Value(False)), True))


class _Compiler:
    def __init__(self, *, catalog: dict[str, Field], now: datetime, stack: tuple[int, ...]) -> None:
        self.catalog, self.now, self.stack = catalog, now, stack
        self.errors: list[str] = []
        self.nodes = 0
        self.context = Context(now=now, segment=self.segment)
        self.path: list[int] = []

    def fail(self, message: str, label: str = "") -> Q:
        where = ".".join(str(i) for i in self.path) or _("rule")
        self.errors.append(f"{where}{' ' + label if label else ''}: {message}")
        return NO_ONE

    def node(self, node: Any, depth: int = 0) -> Q:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            return self.fail(_("a rule may hold at most %(max)s conditions and groups") % {"max": MAX_NODES})
        if depth > MAX_DEPTH:
            return self.fail(_("groups are nested deeper than %(max)s levels") % {"max": MAX_DEPTH})
        if not isinstance(node, dict):
            return self.fail(_("expected a group or a condition"))
        for key in ("all", "any"):
            if key in node:
                if len(node) != 1:
                    return self.fail(_("a group holds only its list of conditions"))
                return self.group(key, node[key], depth)
        if "not" in node:
            if len(node) != 1 or not isinstance(node["not"], dict):
                return self.fail(_("“not” takes exactly one group or condition"))
            return negate(self.node(node["not"], depth + 1))
        if "field" in node:
            return self.condition(node)
        return self.fail(_("expected a group (all, any, not) or a condition (field, op, value)"))

    def group(self, key: str, children: Any, depth: int) -> Q:
        if not isinstance(children, list):
            return self.fail(_("a group's conditions must be a list"))
        if not children:
            return EVERYONE if key == "all" else NO_ONE
        combined: Q | None = None
        for index, child in enumerate(children, start=1):
            self.path.append(index)
            q = self.node(child, depth + 1)
            self.path.pop()
            combined = q if combined is None else (combined & q if key == "all" else combined | q)
        return combined  # type: ignore[return-value]

    def condition(self, node: dict[str, Any]) -> Q:
        name = node.get("field")
        field = self.catalog.get(name) if isinstance(name, str) else None
        if field is None:
            return self.fail(self._unknown_field(name))
        label = str(field.label)
        op = node.get("op")
        if op not in field.ops:
            valid = ", ".join(str(OPERATOR_LABELS[o]) for o in field.ops)
            return self.fail(
                _("operator “%(op)s” does not apply (use one of: %(valid)s)") % {"op": str(op)[:40], "valid": valid},
                label,
            )
        allowed = {"field", "op", "value"} | {p.name for p in field.params}
        extra = sorted(set(node) - allowed)
        if extra:
            return self.fail(_("unknown key “%(key)s”") % {"key": str(extra[0])[:40]}, label)
        try:
            params = self.params(field, node)
            value = clean_value(field, op, node.get("value"))
        except ValueProblem as problem:
            return self.fail(str(problem), label)
        positive = NEGATIONS.get(op, op)
        errors_before = len(self.errors)
        q = field.build(positive, value, params, self.context)
        if len(self.errors) > errors_before:
            return NO_ONE
        return negate(q) if positive != op else q

    def params(self, field: Field, node: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for param in field.params:
            raw = node.get(param.name, param.default)
            if raw in (None, "") and param.kind != "days":
                if param.required:
                    raise ValueProblem(_("%(param)s is required") % {"param": param.label})
                params[param.name] = ""
                continue
            if param.kind == "choice":
                params[param.name] = clean_choice(raw, param.choices)
            elif param.kind == "days":
                days = clean_days(raw if raw not in (None, "") else 0)
                if param.required and days < 1:
                    raise ValueProblem(_("the window must be at least one day"))
                params[param.name] = days
            else:
                params[param.name] = clean_text(str(raw))
        return params

    def _unknown_field(self, name: Any) -> str:
        from customers.models import AttributeDefinition

        if isinstance(name, str) and name.startswith("attr."):
            if AttributeDefinition.objects.filter(key=name[5:], deleted_at__isnull=False).exists():
                return _("the custom attribute “%(key)s” was deleted") % {"key": name[5:]}
        return _("unknown field “%(field)s”") % {"field": str(name)[:80]}

    def segment(self, segment_id: int) -> Q:
        from segments.models import Segment, SegmentMembership

        if segment_id in self.stack:
            return self.fail(_("segments refer to each other in a cycle"))
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            return self.fail(_("segment #%(id)s does not exist") % {"id": segment_id})
        if segment.kind == Segment.Kind.STATIC or not segment.rule:
            return Q(Exists(SegmentMembership.objects.filter(segment_id=segment_id, customer=OuterRef("pk"))))
        inner = _Compiler(catalog=self.catalog, now=self.now, stack=(*self.stack, segment_id))
        q = inner.node(segment.rule)
        if inner.errors:
            cycle = any(_("cycle") in e for e in inner.errors)
            return self.fail(
                _("segments refer to each other in a cycle") if cycle
                else _("segment “%(name)s” has an invalid rule") % {"name": segment.name}
            )
        return q


def compile_rule(
    rule: Any, *, now: datetime | None = None, segment_id: int | None = None,
    catalog: dict[str, Field] | None = None,
) -> Q:
    """The rule as a Q over Customer; raises RuleError listing every problem. `segment_id`
    is the segment the rule belongs to (so a reference back to it is a cycle)."""
    compiler = _Compiler(
        catalog=catalog if catalog is not None else field_catalog(),
        now=now or timezone.now(),
        stack=(segment_id,) if segment_id else (),
    )
    q = compiler.node(rule)
    if compiler.errors:
        raise RuleError(compiler.errors)
    return q


def validate_rule(rule: Any, *, segment_id: int | None = None) -> list[str]:
    try:
        compile_rule(rule, segment_id=segment_id)
    except RuleError as error:
        return error.errors
    return []


def referenced_segments(rule: Any) -> set[int]:
    """Ids of segments this rule names directly."""
    found: set[int] = set()
    walk: list[Any] = [rule]
    while walk:
        node = walk.pop()
        if isinstance(node, dict):
            if node.get("field") == "segment" and isinstance(node.get("value"), int):
                found.add(node["value"])
            walk.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            walk.extend(node)
    return found


def uses_field(rule: Any, predicate: Callable[[str], bool]) -> bool:
    walk: list[Any] = [rule]
    while walk:
        node = walk.pop()
        if isinstance(node, dict):
            if isinstance(node.get("field"), str) and predicate(node["field"]):
                return True
            walk.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            walk.extend(node)
    return False
