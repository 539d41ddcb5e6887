"""The WebSocket API's $connect authorizer (app.aws_lambda.live_authorizer.handler) on
the REQUEST authorizer event API Gateway documents for WebSocket APIs, with tokens of
the test issuer: Allow with the connection's context, Deny (403) for a token that may
not read orders, "Unauthorized" (401) for no, bad or expired tokens, and never the
token in a log line."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from app.aws_lambda import live_authorizer
from app.aws_lambda.live_authorizer import handler
from tests.auth.tokens import Issuer
from tests.lambda_events.conftest import LambdaContext, load

CONNECTED_AT = int(time.time())  # the documented event's connectedAt is in 2020


@pytest.fixture(autouse=True)
def trusting(monkeypatch: pytest.MonkeyPatch, trust_env: Mapping[str, str]) -> Iterator[None]:
    """The function's environment (template.yaml) with the test issuer's trust."""
    for name, value in trust_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("APP_STAGE", "dev")
    live_authorizer.verifier.cache_clear()
    yield
    live_authorizer.verifier.cache_clear()


def connect(token: str | None) -> dict[str, Any]:
    event = copy.deepcopy(load("websocket-authorizer.json"))
    event["requestContext"]["connectedAt"] = CONNECTED_AT * 1000 + 123  # milliseconds
    if token is None:
        del event["queryStringParameters"], event["multiValueQueryStringParameters"]
    else:
        event["queryStringParameters"] = {"token": token}
        event["multiValueQueryStringParameters"] = {"token": [token]}
    return event


def allowed(answer: dict[str, Any], effect: str = "Allow") -> bool:
    (statement,) = answer["policyDocument"]["Statement"]
    method_arn = load("websocket-authorizer.json")["methodArn"]
    return statement == {"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}


def test_a_customer_token_is_allowed_with_its_sub_and_expiry(issuer: Issuer) -> None:
    exp = CONNECTED_AT + 600
    answer = handler(connect(issuer.token(sub="alice", exp=exp, iat=CONNECTED_AT)), LambdaContext())
    assert allowed(answer)
    assert answer["principalId"] == "alice"
    assert answer["context"] == {"sub": "alice", "staff": "false", "expiresAt": str(exp)}


def test_a_staff_token_hears_the_kitchen_and_never_beyond_two_hours(issuer: Issuer) -> None:
    token = issuer.token(sub="cook", scope="orders:admin", iat=CONNECTED_AT, exp=CONNECTED_AT + 86_400)
    answer = handler(connect(token), LambdaContext())
    assert allowed(answer)
    # API Gateway ends a connection after 2 hours: the listener expires then at the latest.
    assert answer["context"] == {"sub": "cook", "staff": "true", "expiresAt": str(CONNECTED_AT + 7200)}


def test_a_good_token_that_may_not_read_orders_is_denied(issuer: Issuer) -> None:
    answer = handler(connect(issuer.token(scope="menu:write", exp=CONNECTED_AT + 600)), LambdaContext())
    assert allowed(answer, "Deny")  # API Gateway: 403
    assert "context" not in answer


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda i: None, id="no-token"),
        pytest.param(lambda i: "", id="empty"),
        pytest.param(lambda i: i.token(exp=CONNECTED_AT - 3600), id="expired"),
        pytest.param(lambda i: i.token(key=i.rogue), id="unknown-key"),
        pytest.param(lambda i: i.token(iss="https://elsewhere.example.test"), id="other-issuer"),
        pytest.param(lambda i: i.token()[:-4] + "AAAA", id="bad-signature"),
        pytest.param(lambda i: "not.a.jwt", id="garbage"),
    ],
)
def test_no_bad_or_expired_token_is_unauthorized_and_never_logged(
    issuer: Issuer, make: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    token = make(issuer)
    with pytest.raises(Exception, match=r"^Unauthorized$") as refused:
        handler(connect(token), LambdaContext())
    assert type(refused.value) is Exception  # what API Gateway turns into 401
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(line["message"].startswith("live connect refused") for line in lines)
    if token:
        assert all(token not in json.dumps(line) for line in lines)
        assert all(token.split(".")[-1] not in json.dumps(line) for line in lines)


def test_an_allowed_connect_logs_the_sub_never_the_token(
    issuer: Issuer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = issuer.token(sub="alice")
    handler(connect(token), LambdaContext())
    out = capsys.readouterr().out
    assert "alice" in out
    assert token not in out
    assert token.split(".")[-1] not in out
