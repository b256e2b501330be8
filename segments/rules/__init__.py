"""The segment rule language: a JSON tree of groups and conditions, validated with clear
errors and compiled to one SQL query through the ORM (see compiler.py for the grammar)."""

from segments.rules.compiler import RuleError, compile_rule, referenced_segments, validate_rule
from segments.rules.fields import FIELD_GROUPS, field_catalog

__all__ = [
    "FIELD_GROUPS",
    "RuleError",
    "compile_rule",
    "field_catalog",
    "referenced_segments",
    "validate_rule",
]
