"""The DynamoDB table, checked against the store module itself: its key schema, index and
TTL attribute are the module's constants, and the function's IAM policy grants exactly
the DynamoDB actions the module's cloud code path calls (read from its syntax tree), in
the template and in what the SAM transform makes of it.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Callable
from typing import Any, TypeGuard

import pytest

from app.store import dynamodb as store_module
from tests.deploy.stack import (
    ALL_OPTIONS,
    EXTERNAL_AUTH,
    ROOT,
    SAMCONFIG,
    STAND_IN_IDS,
    TABLE_ARN,
    Stack,
    load_template,
    parameter_overrides,
)

pytestmark = pytest.mark.deploy


STORE_MODULE = ROOT / "src" / "app" / "store" / "dynamodb.py"
# The store's table set-up (CreateTable, DescribeTable, the TTL calls): it runs only
# against a local DynamoDB-compatible endpoint, where no IAM applies.
LOCAL_SETUP = "ensure_table"
# Client methods that send no request.
NO_REQUEST = {"close"}
# TransactWriteItems has no IAM action: each part needs its single-item action.
TRANSACT_WRITE_PARTS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _is_store_client(node: ast.AST) -> TypeGuard[ast.Attribute]:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "_client"
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def store_client_calls() -> list[tuple[str, str, ast.Call]]:
    """(client method, enclosing function, call) for every `self._client.<method>(...)`
    in the store module. Any other use of the client (an alias, passing it on) fails:
    its calls could not be seen here."""
    tree = ast.parse(STORE_MODULE.read_text())
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    calls = []
    for node in ast.walk(tree):
        if not _is_store_client(node):
            continue
        parent = parents[node]
        function = parent
        while not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            function = parents[function]
        assigned = (isinstance(parent, ast.Assign) and node in parent.targets) or (
            isinstance(parent, ast.AnnAssign) and node is parent.target
        )
        if assigned and function.name == "__init__":
            continue  # self._client = client
        call = parents.get(parent)
        if not (isinstance(parent, ast.Attribute) and isinstance(call, ast.Call) and call.func is parent):
            pytest.fail(
                f"{STORE_MODULE.name}:{node.lineno}: self._client used other than as "
                f"self._client.<method>(...); this test cannot see what it calls"
            )
        calls.append((parent.attr, function.name, call))
    return calls


def transact_write_actions(call: ast.Call) -> set[str]:
    (items,) = [k.value for k in call.keywords if k.arg == "TransactItems"]
    assert isinstance(items, ast.List), f"line {call.lineno}: TransactItems is not a literal list"
    actions = set()
    for item in items.elts:
        assert isinstance(item, ast.Dict), f"line {call.lineno}: a TransactItems entry is not a literal dict"
        for key in item.keys:
            assert isinstance(key, ast.Constant), f"line {call.lineno}: a TransactItems key is not literal"
            assert key.value in TRANSACT_WRITE_PARTS, f"line {call.lineno}: unknown part {key.value!r}"
            actions.add(TRANSACT_WRITE_PARTS[key.value])
    return actions


def cloud_dynamodb_actions() -> set[str]:
    """The IAM actions of every client call outside the local-only table set-up:
    get_item -> dynamodb:GetItem, and a transaction -> the actions of its parts."""
    actions = set()
    for method, function, call in store_client_calls():
        if function == LOCAL_SETUP or method in NO_REQUEST:
            continue
        if method == "transact_write_items":
            actions |= transact_write_actions(call)
        elif method in {"transact_get_items", "execute_transaction", "get_waiter", "get_paginator"}:
            pytest.fail(f"line {call.lineno}: map {method} to its IAM actions in this test")
        else:
            actions.add("dynamodb:" + "".join(part.capitalize() for part in method.split("_")))
    return actions


def data_table(template: dict[str, Any]) -> dict[str, Any]:
    tables = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    # And live orders' connections (test_live_template.py).
    assert sorted(tables) == ["ConnectionsTable", "DataTable"]
    return tables["DataTable"]


def function_policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = template["Resources"]["ApiFunction"]["Properties"]["Policies"]
    assert all(isinstance(policy, dict) and "Statement" in policy for policy in policies), (
        "only inline policy documents: a named policy or a SAM policy template grants more than it says"
    )
    return [statement for policy in policies for statement in policy["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_table_is_the_store_modules_table() -> None:
    """Keys, index, billing and TTL come from the module's own constants (the ones
    its ensure_table creates locally), so template and code cannot drift apart."""
    table = data_table(load_template())
    props = table["Properties"]
    assert props["KeySchema"] == store_module.KEY_SCHEMA
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(
        store_module.ATTRIBUTE_DEFINITIONS, key=str
    )
    assert props["GlobalSecondaryIndexes"] == store_module.GLOBAL_SECONDARY_INDEXES
    assert props["BillingMode"] == store_module.BILLING_MODE == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert "LocalSecondaryIndexes" not in props
    assert props["TimeToLiveSpecification"] == {"AttributeName": store_module.TTL_ATTRIBUTE, "Enabled": True}
    assert store_module.TTL_ATTRIBUTE == "expires_at"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    # A fixed name would make CloudFormation unable to replace the table.
    assert "TableName" not in props
    # CloudFormation refuses attribute definitions that no key uses.
    key_attributes = {k["AttributeName"] for k in props["KeySchema"]} | {
        k["AttributeName"] for index in props["GlobalSecondaryIndexes"] for k in index["KeySchema"]
    }
    assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == key_attributes


def test_table_survives_stack_deletion_and_is_protected_in_prod() -> None:
    template = load_template()
    table = data_table(template)
    # Literals, in every stage (template.yaml says why not Fn::If).
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    protection = table["Properties"]["DeletionProtectionEnabled"]
    config = tomllib.loads(SAMCONFIG.read_text())
    for name, expected in (("default", False), ("prod", True)):
        stack = Stack(template, parameter_overrides(config[name]))
        assert stack.evaluate(protection) is expected, name
    assert Stack(template).evaluate(protection) is False  # the template's default stage is dev


def test_function_reaches_the_table_through_its_environment() -> None:
    template = load_template()
    env = Stack(template).function_environment()
    assert env["APP_STORE"] == "dynamodb"
    assert env["APP_DYNAMODB_TABLE"] == STAND_IN_IDS["DataTable"]
    # In the cloud: the regional endpoint, and the app never creates the table.
    assert "APP_DYNAMODB_ENDPOINT_URL" not in env
    assert "APP_SQLITE_PATH" not in env
    # The same in both auth modes.
    assert (
        Stack(template, EXTERNAL_AUTH).function_environment()["APP_DYNAMODB_TABLE"]
        == env["APP_DYNAMODB_TABLE"]
    )
    outputs = Stack(template).outputs()
    assert outputs["TableName"] == env["APP_DYNAMODB_TABLE"]


def test_the_table_is_set_up_by_the_app_only_against_a_local_endpoint() -> None:
    """What the IAM policy leaves out (CreateTable, DescribeTable, UpdateTimeToLive)
    runs only in ensure_table, and the app calls ensure_table only with an endpoint
    URL, which the template never sets."""
    local = {method for method, function, _ in store_client_calls() if function == LOCAL_SETUP}
    assert "create_table" in local
    for path in (ROOT / "src" / "app").rglob("*.py"):
        tree = ast.parse(path.read_text())
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == LOCAL_SETUP
            ):
                continue
            guards = []
            ancestor = parents.get(node)
            while ancestor is not None:
                if isinstance(ancestor, ast.If):
                    guards.append(ast.unparse(ancestor.test))
                ancestor = parents.get(ancestor)
            assert any("endpoint_url" in guard for guard in guards), (
                f"{path.relative_to(ROOT)}:{node.lineno}: {LOCAL_SETUP}() outside an endpoint-URL branch"
            )


def test_function_may_call_exactly_what_the_store_calls() -> None:
    expected = cloud_dynamodb_actions()
    # The derivation found the store's calls (a broken walk would find nothing).
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} <= expected
    template = load_template()
    props = template["Resources"]["ApiFunction"]["Properties"]
    statements = function_policy_statements(template)
    stack = Stack(template)
    indexes = [index["IndexName"] for index in store_module.GLOBAL_SECONDARY_INDEXES]

    granted: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, "no NotAction/NotResource"
        for resource in as_list(statement["Resource"]):
            granted.setdefault(stack.evaluate(resource), set()).update(as_list(statement["Action"]))
    # The table: exactly the store's calls. Its index: Query only, and only the
    # indexes the store has (an index ARN is not covered by the table's).
    assert granted.pop(TABLE_ARN) == expected
    assert granted == {f"{TABLE_ARN}/index/{name}": {"dynamodb:Query"} for name in indexes}
    assert "dynamodb:Query" in expected
    # Nothing broad anywhere in the template: no wildcards, no Scan, no SAM
    # policy templates that bring their own action lists.
    text = json.dumps(template)
    assert not re.search(r'"dynamodb:[^"]*\*', text)
    assert "dynamodb:Scan" not in text
    assert not re.search(r"DynamoDB\w*Policy", text)
    assert "Role" not in props, "the function's role is SAM's, made from Policies"
    assert "scan" not in {method for method, _, _ in store_client_calls()}


# SAM adds this managed policy whenever Tracing is set to anything but a literal
# "Disabled"; with Tracing: !If [...] that is in both modes (template.yaml says why).
XRAY_WRITE_ONLY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"


@pytest.mark.parametrize("options", [{}, ALL_OPTIONS], ids=["defaults", "all-options"])
def test_transformed_template_grants_only_that(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]], options: dict[str, str]
) -> None:
    """What CloudFormation deploys after the SAM transform: the function's role, the
    basic execution policy for logs, X-Ray's write-only policy, and the statements
    above; no other DynamoDB action anywhere. The same with every option on. The other
    two roles (CodeDeploy's and the pre-traffic hook's) are read in test_releases.py."""
    transformed = sam_transform(options)
    iam = {k: v for k, v in transformed["Resources"].items() if v["Type"].startswith("AWS::IAM::")}
    # Live orders' three roles are read in test_live_template.py.
    assert sorted(iam) == [
        "ApiFunctionRole",
        "CodeDeployRole",
        "LiveAuthorizerFunctionRole",
        "LiveSocketFunctionRole",
        "LiveStreamFunctionRole",
        "PreTrafficHookRole",
    ]
    role = iam["ApiFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [BASIC_EXECUTION_ROLE, XRAY_WRITE_ONLY]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == function_policy_statements(load_template())
    text = json.dumps(transformed)
    assert set(re.findall(r'"(dynamodb:[^"]*)"', text)) == cloud_dynamodb_actions()
    table = transformed["Resources"]["DataTable"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
