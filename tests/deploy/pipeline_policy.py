"""ops/pipeline.yaml as IAM would read it: the template evaluated with its roles' and
policies' real names (pipeline stack serverless-api-pipeline), a matcher for IAM's ARN
patterns, and IAM's verdict on one request (an explicit Deny wins; an Allow needs its
action, resource and condition to match). Used by test_pipeline_reach.py."""

from __future__ import annotations

import functools
import re
from typing import Any

from tests.deploy.stack import ROOT, Stack, load_template

PIPELINE_STACK = "serverless-api-pipeline"
ACCOUNT = "123456789012"
IAM = f"arn:aws:iam::{ACCOUNT}"
# Everything the pipeline stack names: its roles and policies are "{stack}-...".
PIPELINE_OWN = [
    f"arn:aws:cloudformation:*:{ACCOUNT}:stack/{PIPELINE_STACK}/*",
    f"{IAM}:role/{PIPELINE_STACK}-*",
    f"{IAM}:policy/{PIPELINE_STACK}-*",
]


def globs_overlap(a: str, b: str) -> bool:
    """Whether some ARN matches both IAM patterns (`*` any run, `?` one character)."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        if i < len(a) and j < len(b) and (a[i] == b[j] or "?" in (a[i], b[j])):
            return meet(i + 1, j + 1)
        return False

    return meet(0, 0)


def arns_overlap(a: str, b: str) -> bool:
    """globs_overlap field by field: an ARN's partition, service, region and account
    hold no `:`, so a `*` in one of them cannot reach into the resource part."""
    fields_a, fields_b = a.split(":", 5), b.split(":", 5)
    if len(fields_a) != 6 or len(fields_b) != 6:
        return globs_overlap(a, b)
    return all(globs_overlap(x, y) for x, y in zip(fields_a, fields_b, strict=True))


def glob_matches(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


class Pipeline(Stack):
    """The pipeline template with its roles' and policies' real names as ids."""

    def __init__(self) -> None:
        super().__init__(load_template(ROOT / "ops" / "pipeline.yaml"), {"GitHubRepository": "org/repo"})
        self.pseudo["AWS::StackName"] = PIPELINE_STACK

    def ref(self, name: str) -> Any:
        resource = self.template["Resources"].get(name)
        if resource is None:
            return super().ref(name)
        properties = self.evaluate(resource["Properties"])
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            return f"{IAM}:policy/{properties['ManagedPolicyName']}"
        if resource["Type"] == "AWS::IAM::OIDCProvider":
            return f"{IAM}:oidc-provider/token.actions.githubusercontent.com"
        return properties["RoleName"]

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert attribute == "Arn"
        return f"{IAM}:role/{self.ref(logical_id)}"

    def statements(self, logical_id: str) -> list[dict[str, Any]]:
        """Every statement that applies to a role: its inline policies and the managed
        policies attached to it."""
        properties = self.properties(logical_id)
        found = [s for p in properties.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        for name, resource in self.template["Resources"].items():
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                attached = self.properties(name)
                if properties.get("RoleName") in attached.get("Roles", []):
                    found += attached["PolicyDocument"]["Statement"]
        return found

    def boundary(self, env: str) -> list[dict[str, Any]]:
        document = self.properties(f"{env.title()}Boundary")["PolicyDocument"]
        statements: list[dict[str, Any]] = document["Statement"]
        return statements


PIPELINE = Pipeline()


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allows(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's verdict for one request: no matching Deny, and a matching Allow."""

    def applies(statement: dict[str, Any]) -> bool:
        if not any(glob_matches(a, action, case=False) for a in listed(statement["Action"])):
            return False
        if not any(glob_matches(r, resource) for r in listed(statement["Resource"])):
            return False
        for operator, tests in statement.get("Condition", {}).items():
            assert operator in ("StringEquals", "StringNotEquals", "ArnLike"), operator
            for key, wanted in tests.items():
                value = context.get(key)
                if operator == "ArnLike":  # a pattern, as a Resource is
                    hit = value is not None and any(glob_matches(w, value) for w in listed(wanted))
                else:
                    hit = value in listed(wanted)
                if (operator != "StringNotEquals") != hit:
                    return False
        return True

    matching = [s for s in statements if applies(s)]
    return bool(matching) and all(s["Effect"] == "Allow" for s in matching)
