"""RFC 9457 problem details: the one shape every error body takes.

Domain code raises :class:`Problem` (or a subclass); the edge turns it, and
FastAPI's own HTTP and validation errors, into ``application/problem+json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.http.head import request_method
from app.http.routes import route_path, route_rules
from app.store.base import StoreUnavailable, WriteOutcomeUnknown

PROBLEM_JSON = "application/problem+json"
# Problem types are URNs on purpose: RFC 9457 lets clients compare them, but no
# client should try to dereference them, and no documentation host is implied.
TYPE_PREFIX = "urn:serverless-api:problem:"


class Problem(Exception):
    """An error that becomes a problem+json response."""

    status: int = 500
    type_slug: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})
        self.extensions = extensions


# -- documentation --------------------------------------------------------------
# The problem+json shape and the error statuses, for route declarations
# (``responses=problem_responses(...)``), so the OpenAPI document tells clients
# (and the schema-driven fuzz tests hold the app to) what an error looks like.

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Extension members may be added.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URN naming the kind of problem, or about:blank."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "For validation problems: each bad field.",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {
                    "field": {"type": "string", "examples": ["body.lines.0.quantity"]},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
        "request_id": {"type": "string", "description": "On a 500: quote it when reporting the error."},
    },
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string"},
    }
}
PROBLEM_STATUSES: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("A malformed header (Content-Length, If-Match, Idempotency-Key)", {}),
    401: (
        "No bearer token, or one that fails verification",
        {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    ),
    403: ("The token lacks a scope this operation needs", {}),
    404: ("Not found", {}),
    409: ("Conflict", {}),
    412: ("If-Match does not match the current version", {}),
    413: ("The request body is too large", {}),
    422: ("Invalid or malformed input; `errors` names each bad field", {}),
    428: ("If-Match is required", {}),
    429: ("Too many requests from this client", _RETRY_AFTER),
    503: ("The data store is not answering; retry later", _RETRY_AFTER),
}


def problem_responses(
    *statuses: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each a problem+json body.

    ``problem_responses(401, 403, described={404: "No such order of yours"})``:
    the numbers take the generic description, ``described`` a specific one.
    """
    wanted = {status: PROBLEM_STATUSES[status][0] for status in statuses}
    wanted.update(described or {})
    responses: dict[int | str, dict[str, Any]] = {}
    for status, description in sorted(wanted.items()):
        response: dict[str, Any] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        headers = PROBLEM_STATUSES.get(status, ("", {}))[1]
        if headers:
            response["headers"] = headers
        responses[status] = response
    return responses


def _document_problems(app: FastAPI) -> None:
    """Put the Problem schema into the components the responses above refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def problem_body(
    status: int,
    detail: str,
    *,
    type_slug: str | None = None,
    title: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + type_slug if type_slug else "about:blank",
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
    }
    body.update(extensions)
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    type_slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body = problem_body(status, detail, type_slug=type_slug, title=title, **extensions)
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Each bad field, named; the rejected input itself is not echoed back."""
    return [
        {
            "field": _location(error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
            "code": str(error.get("type", "invalid")),
        }
        for error in errors
    ]


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        type_slug=exc.type_slug,
        headers=exc.headers,
        **exc.extensions,
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    unparsed = _unparseable_body(exc)
    if unparsed is not None:
        return _malformed_json([{"field": "body", "message": unparsed, "code": "json_invalid"}])
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        if detail == "Method Not Allowed":
            detail = f"{request_method(request.scope)} is not allowed on {request.url.path}"
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = allowed
    return problem_response(exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, for a 405's ``Allow`` (RFC 9110).

    Starlette names only the methods of the first route whose path matched, but
    GET, PUT and DELETE /menu/{item_id} are three routes on one path.
    """
    path = route_path(request.scope)
    methods: set[str] = set()
    for regex, route_methods, _ in route_rules(request.app):
        if route_methods and regex.match(path):
            methods |= route_methods
    if "GET" in methods:
        methods.add("HEAD")  # app.http.head answers HEAD wherever GET is served
    return ", ".join(sorted(methods))


# FastAPI turns any exception but JSONDecodeError raised while it parses a JSON
# body into a 400 "There was an error parsing the body", chained to the cause.
_FASTAPI_PARSE_ERROR = "There was an error parsing the body"


def _unparseable_body(exc: StarletteHTTPException) -> str | None:
    """Why a body could not be parsed as JSON at all, or None if that is not this error.

    Each of these is malformed JSON to the client, a 422 like any other
    (RFC 8259): a body that is not UTF-8 (section 8.1), nesting deeper than
    the parser goes (section 9 lets a parser limit it), an integer with more
    digits than Python converts (section 9, ``sys.get_int_max_str_digits``).
    """
    if exc.status_code != 400 or exc.detail != _FASTAPI_PARSE_ERROR:
        return None
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return "JSON must be UTF-8"
    if isinstance(cause, RecursionError):
        return "JSON is nested too deeply"
    if isinstance(cause, ValueError):
        # The one ValueError json.loads raises that is not a JSONDecodeError:
        # "Exceeds the limit (4300 digits) for integer string conversion".
        return "A number in the JSON has too many digits"
    return None


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return _malformed_json(validation_errors(errors))
    return problem_response(
        422,
        "The request has invalid fields; see errors.",
        type_slug="validation",
        title="Validation failed",
        errors=validation_errors(errors),
    )


def _malformed_json(errors: list[dict[str, str]]) -> Response:
    return problem_response(
        422,
        "The request body is not valid JSON.",
        type_slug="malformed-json",
        title="Malformed JSON",
        errors=errors,
    )


async def _on_store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailable)
    logging.getLogger("app.store").warning("store unavailable: %s", exc)
    return problem_response(
        503,
        "The data store did not confirm this write; retry it with the same Idempotency-Key."
        if isinstance(exc, WriteOutcomeUnknown)
        else "The data store is not answering right now; retry shortly.",
        type_slug="store-unavailable",
        headers={"Retry-After": str(exc.retry_after)},
    )


def install(app: FastAPI) -> None:
    """Route every error FastAPI produces through problem+json."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    _document_problems(app)
