"""What the twin's gateway answers itself, on the tiny stack (tests/twin/tiny): its request
id, a method no route knows, a path outside the stage, a header it will not send, and its
JWT authorizer's audience and scope checks (two tiny routes have the authorizer)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from jose import jwt

from app.devtoken import ensure_key
from tests.e2e.conftest import free_port
from tests.twin.conftest import Twin, get
from twin.__main__ import AUDIENCE, ISSUER_PATH

pytestmark = pytest.mark.timeout(240)

# http-api-troubleshooting-jwt.html's example: apigw-requestid: Mc7UVioPPHcEKPA=
REQUEST_ID = re.compile(r"^[A-Za-z0-9+/]{15}=$")
# The origin the twin's issuer allows redirects to (the tiny stack has no site to serve).
WEB_ORIGIN = f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def tiny(tiny_twin: Callable[..., Any]) -> Iterator[Twin]:
    with tiny_twin(options=("--web-port", WEB_ORIGIN.rsplit(":", 1)[1])) as twin:
        yield twin


def assert_gateway_answer(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": message}
    assert response.headers["apigw-requestid"]


def token(twin: Twin, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """A token of the twin's issuer key: Cognito's access-token shape unless claims change it."""
    pem, kid = ensure_key(twin.state_dir / "jwks.json")
    now = int(time.time())
    body = {"iss": f"{twin.root}{ISSUER_PATH}", "client_id": AUDIENCE, "sub": "alice", "iat": now}
    body |= {"exp": now + 600, "token_use": "access", "scope": "tiny/read"}
    body = {name: value for name, value in (body | claims).items() if value is not None}
    return str(jwt.encode(body, pem.decode(), algorithm="RS256", headers={"kid": kid, **(header or {})}))


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_the_request_id_is_the_events_and_shaped_like_the_gateways(tiny: Twin) -> None:
    ids = []
    for _ in range(2):
        response = get(f"{tiny.url}/echo")
        assert response.status_code == 200
        seen = response.json()["event"]["requestContext"]["requestId"]
        # One value: a client quoting apigw-requestid finds the request the function logged.
        assert response.headers["apigw-requestid"] == seen
        assert REQUEST_ID.match(seen), seen
        # And the twin's access line (written just after the answer is sent).
        deadline = time.monotonic() + 5
        while f"GET /test/echo 200 {seen}" not in tiny.log():
            assert time.monotonic() < deadline, f"no access line with {seen}"
            time.sleep(0.05)
        ids.append(seen)
    assert ids[0] != ids[1]


@pytest.mark.parametrize("method", ["TRACE", "PURGE", "CONNECT"])
def test_a_method_no_route_knows_is_the_gateways_404_and_invokes_nothing(tiny: Twin, method: str) -> None:
    before = len(tiny.reports())
    response = httpx.request(method, f"{tiny.url}/echo", timeout=30)
    assert_gateway_answer(response, 404, "Not Found")
    assert "<html" not in response.text.lower()
    assert len(tiny.reports()) == before


@pytest.mark.parametrize("path", ["/abcd/echo", "/testx/echo", "/tes/echo", "/echo", "/TEST/echo"])
def test_only_the_exact_stage_segment_is_the_stage(tiny: Twin, path: str) -> None:
    before = len(tiny.reports())
    assert_gateway_answer(get(f"{tiny.root}{path}"), 404, "Not Found")
    assert len(tiny.reports()) == before
    assert get(f"{tiny.root}/test/echo").status_code == 200


def test_a_header_that_would_split_the_response_is_the_gateways_500(tiny: Twin) -> None:
    response = get(f"{tiny.url}/split")
    assert_gateway_answer(response, 500, "Internal Server Error")
    assert "set-cookie" not in response.headers
    assert "x-note" not in response.headers
    assert "refused to send a response: header 'x-note'" in tiny.log()
    assert get(f"{tiny.url}/echo").status_code == 200  # the connection and the twin carry on


def test_the_issuers_answers_pass_the_same_check(tiny: Twin) -> None:
    """The issuer on the gateway's port writes through the same check: a redirect_uri
    with CR LF never becomes a header of its own, whatever the sign-in does with it."""
    query = {
        "client_id": AUDIENCE,
        "redirect_uri": f"{WEB_ORIGIN}/callback\r\nSet-Cookie: injected=1",
        "response_type": "token",  # not "code": the sign-in redirects back with an error
    }
    response = get(f"{tiny.root}{ISSUER_PATH}/authorize", params=query)
    assert "set-cookie" not in response.headers
    assert response.status_code in (400, 500), response.status_code
    assert "location" not in response.headers


@pytest.mark.parametrize(
    "alg", ["RS256\r\nSet-Cookie: injected=1", 'none" error_description="forged', "HS256\x00"]
)
def test_the_authorizer_never_echoes_token_text(tiny: Twin, alg: str) -> None:
    forged = token(tiny).split(".")
    header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": "k"}).encode()).rstrip(b"=").decode()
    response = get(f"{tiny.url}/guarded/x", headers=bearer(".".join([header, *forged[1:]])))
    assert_gateway_answer(response, 401, "Unauthorized")
    assert "set-cookie" not in response.headers
    assert response.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token\'s algorithm is not supported"'
    )


def test_the_authorizer_checks_aud_when_the_token_has_one(tiny: Twin) -> None:
    before = len(tiny.reports())
    # client_id is right, but aud names another API: aud wins (http-api-jwt-authorizer.html).
    for aud in ("someone-else", ["someone-else", "another"]):
        response = get(f"{tiny.url}/guarded/x", headers=bearer(token(tiny, aud=aud)))
        assert_gateway_answer(response, 401, "Unauthorized")
        assert (
            'error_description="the token does not have a valid audience"'
            in (response.headers["www-authenticate"])
        )
    assert len(tiny.reports()) == before
    for aud in (AUDIENCE, ["someone-else", AUDIENCE]):
        accepted = get(f"{tiny.url}/guarded/x", headers=bearer(token(tiny, aud=aud, client_id=None)))
        assert accepted.status_code == 200, accepted.text
        claims = accepted.json()["event"]["requestContext"]["authorizer"]["jwt"]["claims"]
        assert claims["aud"] == (aud if isinstance(aud, str) else json.dumps(aud))  # claims as strings
    assert len(tiny.reports()) == before + 2


def test_the_authorizer_requires_the_routes_scopes(tiny: Twin) -> None:
    before = len(tiny.reports())
    for scope in ("tiny/write", "", "tiny/read-only tiny/reader"):
        response = get(f"{tiny.url}/scoped", headers=bearer(token(tiny, scope=scope)))
        assert_gateway_answer(response, 401, "Unauthorized")
        assert response.headers["www-authenticate"] == (
            'Bearer scope="tiny/read" error="invalid_token" '
            'error_description="the token does not have the required scope"'
        )
    assert len(tiny.reports()) == before
    accepted = get(f"{tiny.url}/scoped", headers=bearer(token(tiny, scope="tiny/write tiny/read")))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["event"]["requestContext"]["authorizer"]["jwt"]["scopes"] == ["tiny/read"]
    # The route without scopes takes the same token, and a token with none.
    assert get(f"{tiny.url}/guarded/x", headers=bearer(token(tiny, scope=None))).status_code == 200
