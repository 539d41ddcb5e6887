"""The attack corpus: every forged, stale or misdirected token is a 401 (or 403), never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from tests.jwks_server import JwksServer

from .conftest import bearer
from .tokens import AUDIENCE, ISSUER, Issuer, b64, b64json


def assert_invalid(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token", error_description="')


def test_valid_rs256_token_passes(client: TestClient, issuer: Issuer) -> None:
    response = client.get("/test/me", headers=bearer(issuer.token()))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "scopes": ["orders:read", "orders:write"]}


def test_valid_es256_token_passes(client: TestClient, issuer: Issuer) -> None:
    assert client.get("/test/me", headers=bearer(issuer.token(issuer.ec))).status_code == 200


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_case(client: TestClient, issuer: Issuer, alg: str) -> None:
    token = f"{b64json({'alg': alg, 'kid': 'rsa-1'})}.{b64json(issuer.claims())}."
    assert_invalid(client.get("/test/me", headers=bearer(token)))
    assert_invalid(client.get("/test/me", headers=bearer(token + "c2ln")))


def _hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
    return f"{signing_input.decode()}.{b64(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


def test_hs256_signed_with_the_public_key_pem(client: TestClient, issuer: Issuer) -> None:
    pem = issuer.rsa.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = _hs256({"alg": "HS256", "kid": "rsa-1"}, issuer.claims(), pem)
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_hs256_signed_with_the_public_jwk(client: TestClient, issuer: Issuer) -> None:
    secret = json.dumps(issuer.rsa.as_dict(private=False)).encode()
    token = _hs256({"alg": "HS256", "kid": "rsa-1"}, issuer.claims(), secret)
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_a_jwe_is_refused(client: TestClient) -> None:
    jwe = ".".join([b64json({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "rsa-1"}), "a", "b", "c", "d"])
    assert_invalid(client.get("/test/me", headers=bearer(jwe)))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
        ({"iat": int(time.time()) + 600}, "future"),
        ({"iss": "https://evil.example/pool"}, "issuer"),
        ({"iss": ISSUER + "/"}, "issuer"),
        ({"aud": "some-other-client"}, "audience"),
        ({"aud": ["x", "y"]}, "audience"),
        ({"exp": ...}, "exp"),
        ({"exp": "9999999999"}, "exp"),
        ({"exp": None}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": [1]}, "exp"),
        ({"nbf": "0"}, "nbf"),
        ({"iss": 42}, "iss"),
        ({"aud": 7}, "aud"),
        ({"aud": [AUDIENCE, 7]}, "aud"),
        ({"sub": ...}, "sub"),
        ({"sub": ""}, "sub"),
        ({"sub": 12}, "sub"),
        ({"scope": ["orders:read"]}, "scope"),
        ({"scp": "orders:read"}, "scp"),
        ({"token_use": "id"}, "token_use"),
        ({"token_use": "refresh"}, "token_use"),
    ],
)
def test_bad_claims(client: TestClient, issuer: Issuer, claims: dict[str, Any], reason: str) -> None:
    response = client.get("/test/me", headers=bearer(issuer.token(**claims)))
    assert_invalid(response)
    assert reason in response.headers["www-authenticate"]


@pytest.mark.parametrize("payload", ['{"exp": Infinity}', '{"exp": NaN}', '{"exp": 1e400}', "[1, 2]", "null"])
def test_non_finite_and_non_object_payloads(client: TestClient, issuer: Issuer, payload: str) -> None:
    token = issuer.raw({"alg": "RS256", "kid": "rsa-1"}, payload)
    assert_invalid(client.get("/test/me", headers=bearer(token)))


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", [10**400, -(10**400), 1e300], ids=["401-digits", "minus-401-digits", "1e300"]
)
def test_a_huge_numeric_date_is_401_not_500(
    client: TestClient, issuer: Issuer, name: str, value: Any
) -> None:
    # Signed by the issuer's own key: only the claim check stands between it and a 500.
    payload = json.dumps(issuer.claims(**{name: value}))
    assert len(str(10**400)) == 401
    response = client.get("/test/me", headers=bearer(issuer.raw({"alg": "RS256", "kid": "rsa-1"}, payload)))
    assert_invalid(response)
    assert f"token {name} is out of range" in response.headers["www-authenticate"]


def test_missing_kid(client: TestClient, issuer: Issuer) -> None:
    token = issuer.raw({"alg": "RS256"}, json.dumps(issuer.claims()))
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_unknown_kid(client: TestClient, issuer: Issuer) -> None:
    assert_invalid(client.get("/test/me", headers=bearer(issuer.token(issuer.rogue))))


def test_published_kid_but_signed_by_another_key(client: TestClient, issuer: Issuer) -> None:
    token = issuer.raw({"alg": "RS256", "kid": "rsa-1"}, json.dumps(issuer.claims()), key=issuer.rogue)
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_tampered_payload(client: TestClient, issuer: Issuer) -> None:
    header, _, signature = issuer.token().split(".")
    forged = b64json(issuer.claims(scope="orders:admin menu:write", sub="mallory"))
    assert_invalid(client.get("/test/me", headers=bearer(f"{header}.{forged}.{signature}")))


def test_empty_signature(client: TestClient, issuer: Issuer) -> None:
    header, payload, _ = issuer.token().split(".")
    assert_invalid(client.get("/test/me", headers=bearer(f"{header}.{payload}.")))


@pytest.mark.parametrize("token", ["!!!.???.***", "eyJhbGciOi.eyJzdWIi.c2ln", "a.b.c", "..", "é.é.é"])
def test_bad_base64(client: TestClient, token: str) -> None:
    assert_invalid(client.get("/test/me", headers={"Authorization": f"Bearer {token}".encode()}))


def test_two_and_four_part_tokens(client: TestClient, issuer: Issuer) -> None:
    header, payload, signature = issuer.token().split(".")
    assert_invalid(client.get("/test/me", headers=bearer(f"{header}.{payload}")))
    assert_invalid(client.get("/test/me", headers=bearer(f"{header}.{payload}.{signature}.{signature}")))


def test_oversized_token_is_refused_before_any_key_lookup(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer
) -> None:
    token = issuer.token(padding="x" * 9000)
    assert len(token) > 8192
    response = client.get("/test/me", headers=bearer(token))
    assert_invalid(response)
    assert "too large" in response.headers["www-authenticate"]
    assert jwks_server.requests == 0


def test_unknown_crit_header(client: TestClient, issuer: Issuer) -> None:
    token = issuer.raw(
        {"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}, json.dumps(issuer.claims())
    )
    assert_invalid(client.get("/test/me", headers=bearer(token)))


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk"])
def test_key_location_headers_cannot_bring_a_key(client: TestClient, issuer: Issuer, header: str) -> None:
    rogue_jwk = issuer.rogue.as_dict(private=False)
    value: Any = rogue_jwk if header == "jwk" else "http://127.0.0.1:9/rogue.json"
    token = issuer.token(issuer.rogue, header={header: value})
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_key_location_headers_are_ignored_on_a_good_token(client: TestClient, issuer: Issuer) -> None:
    token = issuer.token(header={"jku": "http://127.0.0.1:9/rogue.json"})
    assert client.get("/test/me", headers=bearer(token)).status_code == 200


def test_alg_must_match_the_keys_alg(client: TestClient, issuer: Issuer) -> None:
    # Signed by the real RSA key, but with RS384 while the JWK says RS256.
    header = {"alg": "RS384", "kid": "rsa-1"}
    signing_input = f"{b64json(header)}.{b64json(issuer.claims())}".encode()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    sig = issuer.rsa.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    assert_invalid(client.get("/test/me", headers=bearer(f"{signing_input.decode()}.{b64(sig)}")))


def test_ec_alg_with_an_rsa_kid(client: TestClient, issuer: Issuer) -> None:
    token = issuer.raw({"alg": "ES256", "kid": "rsa-1"}, json.dumps(issuer.claims()))
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_id_token_where_an_access_token_is_required(client: TestClient, issuer: Issuer) -> None:
    assert_invalid(client.get("/test/me", headers=bearer(issuer.token(token_use="id"))))


def test_cognito_access_token_with_the_right_client_id(client: TestClient, issuer: Issuer) -> None:
    token = issuer.token(aud=..., client_id=AUDIENCE, scope="orders:read")
    assert client.get("/test/orders", headers=bearer(token)).status_code == 200


def test_cognito_access_token_with_a_wrong_client_id(client: TestClient, issuer: Issuer) -> None:
    assert_invalid(client.get("/test/me", headers=bearer(issuer.token(aud=..., client_id="other-client"))))


def test_client_id_does_not_rescue_a_wrong_aud(client: TestClient, issuer: Issuer) -> None:
    token = issuer.token(aud="other", client_id=AUDIENCE)
    assert_invalid(client.get("/test/me", headers=bearer(token)))


def test_aud_list_containing_ours_passes(client: TestClient, issuer: Issuer) -> None:
    assert client.get("/test/me", headers=bearer(issuer.token(aud=["x", AUDIENCE]))).status_code == 200


def test_small_clock_skew_is_tolerated(client: TestClient, issuer: Issuer) -> None:
    token = issuer.token(iat=int(time.time()) + 10, nbf=int(time.time()) + 10)
    assert client.get("/test/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "value",
    ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "Token abc", "bearer"],
)
def test_malformed_authorization_headers(client: TestClient, value: str) -> None:
    assert_invalid(client.get("/test/me", headers={"Authorization": value}))


def test_two_authorization_headers(client: TestClient, issuer: Issuer) -> None:
    token = issuer.token()
    response = client.get("/test/me", headers=[("Authorization", f"Bearer {token}")] * 2)
    assert_invalid(response)


def test_tokens_never_reach_the_logs(
    client: TestClient, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = issuer.token(), issuer.token(iss="https://evil.example")
    with caplog.at_level(logging.DEBUG):
        client.get("/test/me", headers=bearer(good))
        client.get("/test/me", headers=bearer(bad))
    text = caplog.text + "".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    for token in (good, bad):
        for part in token.split("."):
            assert part not in text
    assert base64.b64encode(good.encode()).decode()[:20] not in text
