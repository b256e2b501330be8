"""The rule builder's form, both ways: a rule tree ↔ the flat fields of an HTML form.

Every node has a path ("r", "r.2", "r.2.1"); its inputs are named "<path>:<part>". The
server rebuilds the tree from a post, applies a structural action (add a condition, add
a group, remove a node) and renders the tree again, so the builder needs no JavaScript
beyond HTMX. Groups match all / any / none / not all of their children; a condition's
negation is its negative operator.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from segments.rules.fields import NEGATIONS, OPERATOR_LABELS, Field, field_catalog

MATCHES = ("all", "any", "none", "not_all")
PARAM_NAMES = ("kind", "channel", "days", "purpose", "campaign")
DEFAULT_CONDITION = {"field": "city", "op": "eq", "value": ""}
MAX_PATH_DEPTH = 12


def _index(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".")[1:] if p.isdigit())


def rule_from_post(data: QueryDict, catalog: dict[str, Field] | None = None) -> dict[str, Any]:
    """The rule a builder form describes (values typed as the fields expect)."""
    catalog = catalog if catalog is not None else field_catalog()
    nodes: dict[str, str] = {}
    for key in data:
        path, _sep, part = key.partition(":")
        if part == "node" and (path == "r" or path.startswith("r.")) and path.count(".") <= MAX_PATH_DEPTH:
            nodes[path] = data[key]

    def build(path: str) -> dict[str, Any]:
        if nodes.get(path) != "group":
            return _condition(path, data, catalog)
        prefix = path + "."
        children = sorted(
            (p for p in nodes if p.startswith(prefix) and "." not in p[len(prefix):]), key=_index
        )
        items = [build(child) for child in children]
        match = data.get(f"{path}:match", "all")
        if match == "any":
            return {"any": items}
        if match == "none":
            return {"not": {"any": items}}
        if match == "not_all":
            return {"not": {"all": items}}
        return {"all": items}

    if "r" not in nodes:
        return {"all": []}
    return build("r")


def _condition(path: str, data: QueryDict, catalog: dict[str, Field]) -> dict[str, Any]:
    name = data.get(f"{path}:field", "")
    field = catalog.get(name)
    op = data.get(f"{path}:op", "")
    if field is not None and op not in field.ops:
        op = field.ops[0]  # the field changed: start from its first operator
    node: dict[str, Any] = {"field": name, "op": op}
    for param in field.params if field else ():
        raw = data.get(f"{path}:{param.name}", param.default)
        node[param.name] = _number(raw) if param.kind == "days" else raw
    raw_value = data.get(f"{path}:value", "")
    numeric = field is not None and (field.type in ("number", "id") or field.value_kind == "segment")
    if NEGATIONS.get(op, op) == "between":
        node["value"] = [_typed(raw_value, numeric), _typed(data.get(f"{path}:value2", ""), numeric)]
    elif field is not None and field.type == "id":
        node["value"] = [_number(v) for v in raw_value.replace("\n", ",").split(",") if v.strip()]
    elif raw_value != "" or f"{path}:value" in data:
        node["value"] = _typed(raw_value, numeric)
    return node


def _number(raw: Any) -> Any:
    try:
        number = float(str(raw).strip())
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


def _typed(raw: str, numeric: bool) -> Any:
    return _number(raw) if numeric else raw


def apply_action(rule: dict[str, Any], action: str) -> dict[str, Any]:
    """"add-condition:<path>", "add-group:<path>" or "remove:<path>" on the tree."""
    verb, _sep, path = action.partition(":")
    tree = to_tree(rule)

    def find(node: dict[str, Any], target: str) -> dict[str, Any] | None:
        if node["path"] == target:
            return node
        for child in node.get("children", []):
            found = find(child, target)
            if found:
                return found
        return None

    if verb in ("add-condition", "add-group"):
        group = find(tree, path)
        if group is not None and group["type"] == "group":
            group["children"].append(
                {"type": "cond", **DEFAULT_CONDITION} if verb == "add-condition"
                else {"type": "group", "match": "all", "children": [{"type": "cond", **DEFAULT_CONDITION}]}
            )
    elif verb == "remove" and path != "r":
        parent_path = path.rsplit(".", 1)[0]
        parent = find(tree, parent_path)
        if parent is not None:
            parent["children"] = [c for c in parent["children"] if c["path"] != path]
    return from_tree(tree)


def to_tree(rule: Any, path: str = "r") -> dict[str, Any]:
    """A rule as the builder shows it: groups with a match, and plain conditions."""
    if isinstance(rule, dict):
        for key in ("all", "any"):
            if isinstance(rule.get(key), list):
                return _group(key, rule[key], path)
        inner = rule.get("not")
        if isinstance(inner, dict):
            for key, match in (("any", "none"), ("all", "not_all")):
                if isinstance(inner.get(key), list):
                    return _group(match, inner[key], path)
            return _group("none", [inner], path)
        if "field" in rule:
            return {"type": "cond", "path": path, **{k: v for k, v in rule.items() if k != "type"}}
    return _group("all", [], path)


def _group(match: str, children: list[Any], path: str) -> dict[str, Any]:
    return {
        "type": "group", "match": match, "path": path,
        "children": [to_tree(child, f"{path}.{i}") for i, child in enumerate(children, start=1)],
    }


def from_tree(node: dict[str, Any]) -> dict[str, Any]:
    if node["type"] == "cond":
        return {k: v for k, v in node.items() if k not in ("type", "path")}
    items = [from_tree(child) for child in node["children"]]
    match = node["match"]
    if match == "none":
        return {"not": {"any": items}}
    if match == "not_all":
        return {"not": {"all": items}}
    return {match: items}


def view_tree(rule: Any, catalog: dict[str, Field]) -> dict[str, Any]:
    """to_tree, with what each condition's widgets need (field spec, operators)."""
    tree = to_tree(rule)

    def decorate(node: dict[str, Any], depth: int) -> None:
        node["depth"] = depth
        if node["type"] == "group":
            for child in node["children"]:
                decorate(child, depth + 1)
            return
        field = catalog.get(node.get("field", ""))
        node["spec"] = field
        node["ops"] = [(op, OPERATOR_LABELS[op]) for op in field.ops] if field else []
        value = node.get("value", "")
        positive = NEGATIONS.get(node.get("op", ""), node.get("op", ""))
        node["needs_value"] = positive not in ("is_set", "is_true") and not (
            field is not None and field.type == "presence" and field.value_kind == ""
        )
        node["between"] = positive == "between"
        if isinstance(value, list):
            if node["between"] and len(value) == 2:
                node["value_text"], node["value2_text"] = value
            else:
                node["value_text"] = ", ".join(str(v) for v in value)
        else:
            node["value_text"] = "" if value is None else value
        node["params"] = [
            (param, node.get(param.name, param.default)) for param in (field.params if field else ())
        ]

    decorate(tree, 0)
    return tree
