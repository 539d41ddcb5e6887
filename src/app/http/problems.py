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

from app.store.base import StoreUnavailable

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
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(
            422,
            "The request body is not valid JSON.",
            type_slug="malformed-json",
            title="Malformed JSON",
            errors=validation_errors(errors),
        )
    return problem_response(
        422,
        "The request has invalid fields; see errors.",
        type_slug="validation",
        title="Validation failed",
        errors=validation_errors(errors),
    )


async def _on_store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailable)
    logging.getLogger("app.store").warning("store unavailable: %s", exc)
    return problem_response(
        503,
        "The data store is not answering right now; retry shortly.",
        type_slug="store-unavailable",
        headers={"Retry-After": str(exc.retry_after)},
    )


def install(app: FastAPI) -> None:
    """Route every error FastAPI produces through problem+json."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
