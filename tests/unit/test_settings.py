from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import (
    LOCAL_ISSUER,
    ConfigurationError,
    RateLimit,
    Settings,
    get_settings,
    parse_group_roles,
    parse_rate_limit,
)

ROOT = Path(__file__).resolve().parents[2]


def test_local_defaults_need_no_environment() -> None:
    settings = get_settings()
    assert settings.stage == "local"
    assert settings.cors_allow_origins == ["http://localhost:3000", "http://localhost:5173"]
    assert settings.auth_issuer == LOCAL_ISSUER
    assert settings.store == "sqlite"
    assert settings.rate == RateLimit(120, 60)
    assert settings.docs_enabled is True
    assert settings.jwks_file == ".local/jwks.json"


def test_comma_separated_lists_are_split_and_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_CORS_ALLOW_ORIGINS", " https://a.example.com ,https://b.example.com:8443,")
    monkeypatch.setenv("APP_AUTH_AUDIENCE", "one, two")
    settings = get_settings()
    assert settings.cors_allow_origins == ["https://a.example.com", "https://b.example.com:8443"]
    assert settings.auth_audience == ["one", "two"]


def test_empty_cors_list_allows_no_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_CORS_ALLOW_ORIGINS", "")
    assert get_settings().cors_allow_origins == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/second", RateLimit(10, 1)),
        ("120/minute", RateLimit(120, 60)),
        (" 5 / hour ", RateLimit(5, 3600)),
        ("0", RateLimit(0, 1)),
    ],
)
def test_rate_limit_forms(text: str, expected: RateLimit) -> None:
    assert parse_rate_limit(text) == expected
    assert parse_rate_limit(text).enabled is (expected.limit > 0)


@pytest.mark.parametrize("text", ["", "ten/minute", "10/day", "0/minute", "-1/second", "10 per minute"])
def test_bad_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="N/second"):
        parse_rate_limit(text)


def test_groups_grant_the_scopes_the_setting_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().group_roles == {"staff": {"orders:admin"}, "chef": {"menu:write"}}
    monkeypatch.setenv("APP_AUTH_GROUP_ROLES", " owners = orders:admin menu:write , cooks=orders:admin")
    get_settings.cache_clear()
    assert get_settings().group_roles == {"owners": {"orders:admin", "menu:write"}, "cooks": {"orders:admin"}}
    assert parse_group_roles("") == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("staff", "not group=scope"),
        ("staff=", "not group=scope"),
        ("=orders:admin", "not group=scope"),
        ("sta ff=orders:admin", "not group=scope"),
        ("staff=orders:admin,staff=menu:write", "named twice"),
        ('chef=menu"write', "not a scope name"),
    ],
)
def test_bad_group_roles_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_group_roles(text)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_RATE_LIMIT", "lots"),
        ("APP_STORE", "postgres"),
        ("APP_DOCS_ENABLED", "perhaps"),
        ("APP_GATEWAY_AUTHORIZER", "perhaps"),
        ("APP_CORS_ALLOW_ORIGINS", "*"),
        ("APP_CORS_ALLOW_ORIGINS", "https://app.example.com/path"),
        ("APP_AUTH_ISSUER", "not a url"),
        ("APP_STAGE", "prod stage"),
        ("APP_AUTH_GROUP_ROLES", "staff:orders:admin"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    message = str(raised.value)
    assert message.startswith("configuration error: ")
    assert name in message
    assert "\n" not in message


def test_the_dev_issuer_is_refused_outside_the_local_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_STAGE", "prod")
    with pytest.raises(ConfigurationError, match="APP_AUTH_ISSUER must be set"):
        get_settings()


def test_the_dev_key_file_never_applies_in_the_cloud() -> None:
    settings = Settings(stage="prod", auth_issuer="https://cognito-idp.eu-west-1.amazonaws.com/pool")
    assert settings.jwks_file is None
    assert settings.jwks_url == "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json"


@pytest.fixture
def not_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)


@pytest.mark.usefixtures("not_on_lambda")
def test_the_dev_key_file_is_the_default_of_a_local_run_only() -> None:
    assert Settings().jwks_file == ".local/jwks.json"
    # A JWKS URL or an explicit file always wins.
    assert Settings(auth_jwks_url="http://127.0.0.1:9/jwks.json").jwks_file is None
    assert Settings(auth_jwks_file="/etc/keys/jwks.json").jwks_file == "/etc/keys/jwks.json"


@pytest.mark.usefixtures("not_on_lambda")
def test_the_dev_key_file_is_not_trusted_for_another_issuer_by_stage_name_alone() -> None:
    """APP_STAGE=local with a real issuer (issue 11, defect 5): that issuer's keys come
    from its own JWKS, never from the file app.devtoken writes."""
    settings = Settings(stage="local", auth_issuer="https://cognito-idp.eu-west-1.amazonaws.com/pool")
    assert settings.jwks_file is None
    assert settings.jwks_url == "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json"


def test_the_dev_key_file_is_never_a_default_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function deployed with APP_STAGE=local and no issuer (the template refuses
    Stage=local; this is the second wall): no key file, so the dev key is not trusted."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ApiFunction")
    settings = Settings()
    assert settings.is_local
    assert settings.jwks_file is None
    # Explicitly configured files still apply there (e.g. a key bundled on purpose).
    assert Settings(auth_jwks_file="/var/task/jwks.json").jwks_file == "/var/task/jwks.json"


def test_dynamodb_store_needs_a_table() -> None:
    with pytest.raises(ValueError, match="APP_DYNAMODB_TABLE"):
        Settings(store="dynamodb")


def test_start_up_with_a_bad_value_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env["APP_RATE_LIMIT"] = "fast"
    result = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]]
    assert "APP_RATE_LIMIT" in lines[0]
    assert "Traceback" not in result.stderr
