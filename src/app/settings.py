"""Configuration from the environment, validated once per process.

Every variable is optional locally; outside the ``local`` stage the unsafe local
defaults (the development token issuer and its key file) are refused, so a cloud
stack can never trust a key that sits on a laptop.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "APP_"
LOCAL_ISSUER = "http://127.0.0.1:8000/local-dev"
LOCAL_AUDIENCE = "serverless-api-local"
LOCAL_JWKS_FILE = ".local/jwks.json"
# The development issuer's shape: plain http on a loopback host, at /local-dev, on any
# port (tests and `make run` pick theirs). Nothing else gets the development sign-in.
_DEV_ISSUER = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?/local-dev")

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
_PERIODS = {"second": 1, "minute": 60, "hour": 3600}
# Cognito group names are 1-128 characters; these are the ones worth typing into a setting.
_GROUP_RE = re.compile(r"[A-Za-z0-9_.+@-]{1,128}")
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
_SCOPE_RE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
DEFAULT_GROUP_ROLES = "staff=orders:admin,chef=menu:write"


class RateLimit(NamedTuple):
    """``limit`` requests per ``window_seconds``; a limit of 0 turns limiting off."""

    limit: int
    window_seconds: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0


def parse_rate_limit(value: str) -> RateLimit:
    if value.strip() == "0":
        return RateLimit(0, 1)
    match = _RATE_RE.match(value)
    if not match or int(match.group(1)) < 1:
        raise ValueError("expected N/second, N/minute or N/hour with N >= 1, or 0 to turn it off")
    return RateLimit(int(match.group(1)), _PERIODS[match.group(2)])


def parse_group_roles(value: str) -> dict[str, frozenset[str]]:
    """``staff=orders:admin,chef=menu:write`` (a group may grant several space-separated
    scopes; empty: no group grants anything) as {group: scopes}."""
    roles: dict[str, frozenset[str]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        group, equals, scopes = (text.strip() for text in item.partition("="))
        names = scopes.split()
        if not equals or not _GROUP_RE.fullmatch(group) or not names:
            raise ValueError(f"{item!r} is not group=scope, e.g. {DEFAULT_GROUP_ROLES}")
        if group in roles:
            raise ValueError(f"group {group!r} is named twice")
        if bad := [name for name in names if not _SCOPE_RE.fullmatch(name)]:
            raise ValueError(f"{bad[0]!r} is not a scope name (RFC 6749 3.3)")
        roles[group] = frozenset(names)
    return roles


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def from_environment() -> dict[str, str]:
    """The ``APP_*`` variables, by field name (the prefix dropped, any case)."""
    size = len(ENV_PREFIX)
    found = os.environ.items()
    return {name[size:].lower(): value for name, value in found if name.upper().startswith(ENV_PREFIX)}


class Settings(BaseModel):
    """The ``APP_*`` environment, validated; values passed in win over it.

    A plain pydantic model reading the environment itself: pydantic-settings
    did the same for these flat string variables and cost every cold start
    about 20 ms of imports (its dotenv, CLI and cloud-secret sources)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**from_environment(), **values})

    stage: str = Field(default="local", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    cors_allow_origins: list[str] = ["http://localhost:3000", "http://localhost:5173"]
    auth_issuer: str = LOCAL_ISSUER
    auth_audience: list[str] = [LOCAL_AUDIENCE]
    auth_jwks_url: str | None = None
    auth_jwks_file: str | None = None
    auth_scope_prefix: str = ""
    auth_token_use: Literal["access", "id", "any"] = "access"  # noqa: S105 - a claim value
    # Cognito's `cognito:groups` claim to the scopes each group grants (SPEC "Roles in the cloud").
    auth_group_roles: str = DEFAULT_GROUP_ROLES
    store: Literal["sqlite", "dynamodb"] = "sqlite"
    sqlite_path: str = ".local/app.db"
    dynamodb_table: str | None = None
    dynamodb_endpoint_url: str | None = None
    rate_limit: str = "120/minute"
    docs_enabled: bool = True
    # A handful of dishes in an empty local store, so a first run shows a restaurant.
    demo_menu: bool = True
    # The development sign-in (app.devsignin) under the issuer's path; local stage only.
    dev_signin: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The stack's GatewayAuthorizer is on: API Gateway's JWT authorizer answers a missing
    # or bad token before the app, and the OpenAPI document says so (app.http.gateway_401).
    gateway_authorizer: bool = False
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=10 * 1024 * 1024)

    @field_validator("cors_allow_origins", "auth_audience", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("cors_allow_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            # An origin is scheme://host[:port] with no path; "*" is refused on
            # purpose: credentials (Authorization) and a wildcard do not mix.
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(f"{origin!r} is not an exact origin like https://app.example.com")
        return origins

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("auth_group_roles")
    @classmethod
    def _group_roles(cls, value: str) -> str:
        parse_group_roles(value)
        return value

    @field_validator("auth_issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if not re.fullmatch(r"https?://\S+", value):
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _safe_outside_local(self) -> Settings:
        if self.stage != "local" and self.auth_issuer == LOCAL_ISSUER:
            raise ValueError("APP_AUTH_ISSUER must be set outside the local stage")
        if self.store == "dynamodb" and not self.dynamodb_table:
            raise ValueError("APP_DYNAMODB_TABLE is required when APP_STORE=dynamodb")
        if not self.auth_audience:
            raise ValueError("APP_AUTH_AUDIENCE must name at least one audience")
        return self

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @property
    def seeds_demo_menu(self) -> bool:
        """The demo menu is for a laptop only: never outside the local stage."""
        return self.is_local and self.demo_menu

    @property
    def serves_dev_signin(self) -> bool:
        """The password-less sign-in signs with the dev key: never outside the local stage,
        never on Lambda (which sets AWS_LAMBDA_FUNCTION_NAME), whatever the stage says, and
        only as the local development issuer: a key file alone (APP_AUTH_JWKS_FILE, e.g. a
        copy of a real issuer's keys) never mounts it under another issuer's path."""
        if not (self.is_local and self.dev_signin and _DEV_ISSUER.fullmatch(self.auth_issuer)):
            return False
        return not on_lambda() and self.jwks_file is not None

    @property
    def opentelemetry(self) -> bool:
        """Whether the process was started with OpenTelemetry set up: an ``OTEL_*``
        variable, or a Lambda exec wrapper (the ADOT layer's ``/opt/otel-instrument``
        configures the providers before the handler is imported). FastAPI's own spans
        and metrics follow it (``app.main``)."""
        return bool(os.environ.get("AWS_LAMBDA_EXEC_WRAPPER")) or any(
            name.startswith("OTEL_") for name in os.environ
        )

    @property
    def group_roles(self) -> dict[str, frozenset[str]]:
        return parse_group_roles(self.auth_group_roles)

    @property
    def rate(self) -> RateLimit:
        return parse_rate_limit(self.rate_limit)

    @property
    def jwks_file(self) -> str | None:
        """The JWKS file, if any. The dev key file (``app.devtoken``'s) is a default only
        for a local run: the local stage *and* the local dev issuer *and* not on Lambda
        (which sets ``AWS_LAMBDA_FUNCTION_NAME`` in every function). A stage name alone
        never makes a cloud function, or a real issuer, trust a key from a laptop."""
        if self.auth_jwks_file:
            return self.auth_jwks_file
        local_run = self.is_local and self.auth_issuer == LOCAL_ISSUER and not on_lambda()
        if local_run and not self.auth_jwks_url:
            return LOCAL_JWKS_FILE
        return None

    @property
    def jwks_url(self) -> str:
        return self.auth_jwks_url or f"{self.auth_issuer}/.well-known/jwks.json"


def on_lambda() -> bool:
    """Whether this process is a Lambda function (the runtime sets the variable)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


class ConfigurationError(SystemExit):
    """Start-up stops with one line naming the variable, never a traceback."""


def describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        name = f"{ENV_PREFIX}{field.upper()}" if field else "configuration"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}: {message}")
    return "configuration error: " + "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once (per Lambda container)."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(describe(error)) from None
