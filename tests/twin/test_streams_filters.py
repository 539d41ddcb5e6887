"""The twin's FilterCriteria matcher against the examples of Lambda's event filtering
pages (invocation-eventfiltering.html "Filter rule syntax", with-ddb-filtering.html),
and the stack's own two patterns: a filter that lets the wrong record through would
wake the stream consumer for nothing; one that drops an order would lose a message."""

from __future__ import annotations

from typing import Any

import pytest

from twin.filters import matches, passes

# with-ddb-filtering.html, "DynamoDB event": the example record.
RECORD: dict[str, Any] = {
    "eventID": "1",
    "eventVersion": "1.0",
    "dynamodb": {
        "ApproximateCreationDateTime": "1678831218.0",
        "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
        "NewImage": {
            "AccountManager": {"S": "Pat Candella"},
            "PaymentTerms": {"S": "60 days"},
            "CustomerName": {"S": "AnyCompany Industries"},
        },
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_IMAGE",
    },
}


def image(**attributes: str) -> dict[str, Any]:
    return {"dynamodb": {"NewImage": {k: {"S": v} for k, v in attributes.items()}}}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # "Filtering with table keys"
        ({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}, True),
        ({"dynamodb": {"Keys": {"CustomerName": {"S": ["Another Company"]}}}}, False),
        # "Filtering with table attributes"
        ({"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella"]}}}}, True),
        # "Filtering with Boolean expressions": And across fields, Or within one
        (
            {
                "dynamodb": {
                    "NewImage": {
                        "AccountManager": {"S": ["Pat Candella"]},
                        "PaymentTerms": {"S": ["30 days"]},
                    }
                }
            },
            False,
        ),
        ({"dynamodb": {"NewImage": {"PaymentTerms": {"S": ["30 days", "60 days"]}}}}, True),
        # "Using the Exists operator"
        ({"dynamodb": {"NewImage": {"AccountManager": {"S": [{"exists": True}]}}}}, True),
        ({"dynamodb": {"NewImage": {"Discount": {"S": [{"exists": True}]}}}}, False),
        ({"dynamodb": {"NewImage": {"Discount": [{"exists": False}]}}}, True),
        # A field the record lacks matches nothing but exists: false.
        ({"dynamodb": {"OldImage": {"AccountManager": {"S": ["Pat Candella"]}}}}, False),
        # The pattern's structure must be the record's: a leaf rule on an object fails.
        ({"dynamodb": {"Keys": ["AnyCompany Industries"]}}, False),
    ],
)
def test_the_dynamodb_examples(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, RECORD) is expected


@pytest.mark.parametrize(
    ("rules", "value", "expected"),
    [
        ([None], None, True),  # Null
        ([None], "", False),
        ([""], "", True),  # Empty
        ([""], None, False),
        (["Alice"], "Alice", True),  # Equals
        (["Alice"], "alice", False),
        ([{"equals-ignore-case": "alice"}], "ALICE", True),
        (["Credit", "Debit"], "Debit", True),  # Or
        ([{"anything-but": ["Raining"]}], "Sunny", True),  # Not
        ([{"anything-but": ["Raining"]}], "Raining", False),
        ([{"anything-but": {"prefix": "us-"}}], "eu-west-1", True),
        ([{"anything-but": {"prefix": "us-"}}], "us-east-1", False),
        ([{"numeric": ["=", 100]}], 100, True),  # Numeric (equals)
        ([{"numeric": ["=", 100]}], "100", False),
        ([{"numeric": [">", 10, "<=", 20]}], 20, True),  # Numeric (range)
        ([{"numeric": [">", 10, "<=", 20]}], 10, False),
        ([{"prefix": "us-"}], "us-east-1", True),  # Begins with
        ([{"prefix": "us-"}], "eu-us-1", False),
        ([{"suffix": ".png"}], "cat.png", True),  # Ends with
        ([{"suffix": ".png"}], "cat.jpg", False),
        ([100], 100.0, True),
        ([True], 1, False),  # JSON types differ
        (["Alice"], ["Bob", "Alice"], True),  # a record's array matches if any element does
    ],
)
def test_the_filter_rule_syntax_table(rules: list[Any], value: Any, expected: bool) -> None:
    assert matches({"field": rules}, {"field": value}) is expected


def test_or_across_fields_and_across_filters() -> None:
    pattern = {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}
    assert matches(pattern, {"Location": "Paris", "Day": "Monday"})
    assert not matches(pattern, {"Location": "Paris", "Day": "Sunday"})
    # FilterCriteria's filters are ORed; none at all lets every record through.
    assert passes([{"a": ["x"]}, {"b": ["y"]}], {"b": "y"})
    assert not passes([{"a": ["x"]}, {"b": ["y"]}], {"a": "y"})
    assert passes([], {"anything": 1})


# The stack's own FilterCriteria (template.yaml, LiveStreamFunction's Changes event).
ORDERS = {"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "ORDER#"}]}, "SK": {"S": ["ORDER"]}}}}
MENU = {"dynamodb": {"Keys": {"PK": {"S": ["MENU"]}}}}


def keys(pk: str, sk: str) -> dict[str, Any]:
    return {"eventName": "MODIFY", "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": sk}}}}


@pytest.mark.parametrize(
    ("record", "sent"),
    [
        (keys("ORDER#01J9", "ORDER"), True),
        (keys("MENU", "ITEM#margherita"), True),
        (keys("ORDER#01J9", "IDEMPOTENCY#abc"), False),  # another item under the order
        (keys("IDEMPOTENCY#abc", "ORDER"), False),
        (keys("ORDERS", "ORDER"), False),
        (keys("MENUS", "ITEM#x"), False),
    ],
)
def test_the_stacks_patterns_send_orders_and_menu_items_only(record: dict[str, Any], sent: bool) -> None:
    assert passes([ORDERS, MENU], record) is sent
