"""The development sign-in's key: served for the local development issuer only, and
never written over a JWKS file the project did not make."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import devtoken
from app.devtoken import KEY_FILE, MARKER, ForeignKeySet, ensure_key
from app.main import create_app
from app.settings import ConfigurationError, Settings, get_settings

# Another issuer's key set, as someone would copy it next to a local run.
FOREIGN = {"keys": [{"kty": "RSA", "kid": "cognito-1", "alg": "RS256", "n": "sXch", "e": "AQAB"}]}


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "jwks.json"
    path.parent.mkdir()
    path.write_text(json.dumps(FOREIGN))
    return path


@pytest.mark.parametrize(
    "issuer",
    [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc",
        "http://127.0.0.1:8000/pool",
        "http://10.0.0.5:8000/local-dev",
        "https://127.0.0.1:8000/local-dev",
    ],
)
def test_not_mounted_under_another_issuer_even_with_a_key_file(foreign: Path, issuer: str) -> None:
    settings = Settings(auth_issuer=issuer, auth_jwks_file=str(foreign), rate_limit="0")
    assert not settings.serves_dev_signin
    path = issuer.split("/", 3)[3]
    before = foreign.read_bytes()
    with TestClient(create_app(settings)) as client:
        for page in ("/.well-known/openid-configuration", "/.well-known/jwks.json", "/authorize"):
            assert client.get(f"/{path}{page}").status_code == 404
    assert foreign.read_bytes() == before
    assert not (foreign.parent / KEY_FILE).exists()


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000/local-dev", "http://localhost:4100/local-dev"])
def test_mounted_for_the_local_development_issuer(tmp_path: Path, issuer: str) -> None:
    settings = Settings(auth_issuer=issuer, auth_jwks_file=str(tmp_path / "jwks.json"), rate_limit="0")
    assert settings.serves_dev_signin


def test_a_key_set_the_project_did_not_make_is_never_overwritten(foreign: Path) -> None:
    before = foreign.read_bytes()
    with pytest.raises(ForeignKeySet, match="did not make"):
        ensure_key(foreign)
    assert foreign.read_bytes() == before
    assert not (foreign.parent / KEY_FILE).exists()


def test_the_local_server_refuses_to_start_on_a_foreign_key_set(foreign: Path) -> None:
    settings = Settings(auth_issuer="http://127.0.0.1:8000/local-dev", auth_jwks_file=str(foreign))
    with pytest.raises(ConfigurationError, match="APP_AUTH_JWKS_FILE"):
        create_app(settings)
    assert json.loads(foreign.read_text()) == FOREIGN


def test_devtoken_refuses_a_foreign_key_set(
    foreign: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_AUTH_JWKS_FILE", str(foreign))
    get_settings.cache_clear()
    try:
        assert devtoken.main(["--sub", "alice"]) == 2
    finally:
        get_settings.cache_clear()
    assert "did not make" in capsys.readouterr().err
    assert json.loads(foreign.read_text()) == FOREIGN


def test_its_own_key_set_is_marked_and_follows_a_new_key(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    _, first = ensure_key(jwks)
    document = json.loads(jwks.read_text())
    assert document[MARKER] is True
    assert [key["kid"] for key in document["keys"]] == [first]
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    (tmp_path / KEY_FILE).unlink()  # a new key: the marked file is the project's to rewrite
    _, second = ensure_key(jwks)
    assert second != first
    assert [key["kid"] for key in json.loads(jwks.read_text())["keys"]] == [second]


def test_an_unmarked_key_set_already_naming_the_key_is_left_alone(tmp_path: Path) -> None:
    """A file from before the marker keeps working: it is read, never rewritten."""
    jwks = tmp_path / "jwks.json"
    _, kid = ensure_key(jwks)
    legacy = json.loads(jwks.read_text())
    del legacy[MARKER]
    jwks.write_text(json.dumps(legacy))
    before = jwks.read_bytes()
    assert ensure_key(jwks)[1] == kid
    assert jwks.read_bytes() == before


def test_an_empty_key_set_is_the_project_s_to_fill(tmp_path: Path) -> None:
    """A placeholder with no keys holds nothing to lose (the SnapStart tests start so)."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    _, kid = ensure_key(jwks)
    assert [key["kid"] for key in json.loads(jwks.read_text())["keys"]] == [kid]
