"""Trailing-slash redirects: a relative Location, never one built from the client's Host.

Issue 11, defect 7: Starlette's router answered ``GET /orders/`` sent with
``Host: evil.example`` with ``Location: http://evil.example/orders``, an open redirect
under uvicorn. RFC 9110 section 10.2.2 allows a relative reference in Location; the
client resolves it against the URL it asked for. The Lambda path (a named stage and
``$default``) is tested in tests/lambda_events/test_handler.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.middleware import public

EVIL = {"Host": "evil.example"}


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    app = make_app()

    @app.get("/test/folder/")
    @public
    async def folder() -> dict[str, str]:
        return {"at": "folder"}

    # A path converter matches paths that begin with "//", which as a relative
    # reference would name a host (a network-path reference, RFC 3986 4.2).
    @app.get("/{anything:path}/tail")
    @public
    async def tail(anything: str) -> dict[str, str]:
        return {"anything": anything}

    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/hello/", "/hello"),
        ("/orders/", "/orders"),
        ("/orders/?limit=5&cursor=abc", "/orders?limit=5&cursor=abc"),
        ("/menu/margherita/", "/menu/margherita"),
        ("/test/folder", "/test/folder/"),
        ("/hello/?q=a%20b", "/hello?q=a%20b"),
    ],
)
def test_trailing_slash_redirect_is_relative_whatever_the_host(
    client: TestClient, path: str, location: str
) -> None:
    response = client.get(path, headers=EVIL)
    assert response.status_code == 307
    assert response.headers["location"] == location
    assert "evil.example" not in response.headers["location"]


def test_the_redirect_leads_where_the_client_meant(client: TestClient) -> None:
    response = client.get("/hello/", follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url) == "http://testserver/hello"


def test_under_a_root_path_the_redirect_keeps_it(app: FastAPI) -> None:
    """uvicorn --root-path /prod (the ASGI path includes the root path, as uvicorn
    and the Lambda adapter send it)."""
    with TestClient(app, root_path="/prod", follow_redirects=False) as client:
        response = client.get("/prod/orders/?limit=5", headers=EVIL)
    assert response.status_code == 307
    assert response.headers["location"] == "/prod/orders?limit=5"


def test_a_redirect_never_names_another_host(client: TestClient) -> None:
    """``//evil.example/tail/`` toggled is ``//evil.example/tail``, which a route
    matches; as a Location it would send the browser to evil.example."""
    response = client.get("http://testserver//evil.example/tail/", headers=EVIL)
    assert response.status_code == 404
    assert "location" not in response.headers
    # Backslashes, which browsers read as slashes, are percent-encoded.
    response = client.get("http://testserver/\\evil.example/tail/")
    assert response.status_code == 307
    assert response.headers["location"] == "/%5Cevil.example/tail"


def test_a_path_no_route_knows_is_still_404(client: TestClient) -> None:
    response = client.get("/nothing/here/", headers=EVIL)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
