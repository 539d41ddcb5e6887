"""Lambda's event filtering (an event source mapping's ``FilterCriteria``), as
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html describes
its "Filter rule syntax": a pattern mirrors the record's structure; every field named
must match (And); a field's list of rules matches if any rule does (Or); ``$or`` takes
a list of sub-patterns; rules are a value (a string, a number, ``null``, ``""``) or
``equals-ignore-case``, ``anything-but``, ``numeric``, ``exists``, ``prefix``, ``suffix``.
A record's array matches if any element does. Several filters are ORed: a record is
sent if it matches one of them, and with no filters every record is sent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING = object()

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(conditions: Sequence[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    pairs = zip(conditions[::2], conditions[1::2], strict=True)
    return all(_NUMERIC[op](value, bound) for op, bound in pairs)


def _rule(rule: Any, value: Any) -> bool:
    """One rule against one present value (an element of a record's array)."""
    if not isinstance(rule, dict):
        # Null, Empty, Equals: the value itself, of the same JSON type (100 equals 100.0).
        if _is_number(rule) and _is_number(value):
            return bool(rule == value)
        return type(rule) is type(value) and rule == value
    ((name, argument),) = rule.items()
    if name == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if name == "numeric":
        return _numeric(argument, value)
    if name == "anything-but":
        if isinstance(argument, dict):  # {"anything-but": {"prefix": "..."}}
            return isinstance(value, str) and not _rule(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_rule(item, value) for item in excluded)
    raise ValueError(f"unsupported filter rule {name!r}")


def _field(rules: Sequence[Any], value: Any) -> bool:
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if (value is not _MISSING) == bool(rule["exists"]):
                return True
            continue
        if value is _MISSING:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_rule(rule, item) for item in values):
            return True
    return False


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` (a record as Lambda would send it) matches one filter pattern."""
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in expected):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not _field(expected, value):
            return False
    return True


def passes(filters: Sequence[Mapping[str, Any]], record: Any) -> bool:
    """FilterCriteria's verdict: no filters, or any filter matches."""
    return not filters or any(matches(pattern, record) for pattern in filters)
