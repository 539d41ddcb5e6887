"""The app served by a real uvicorn process, over loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.system.router import HELLO

from .conftest import ROOT, Server, run_server


def test_hello_over_http(server: Server) -> None:
    response = httpx.get(server.url + "/hello")
    assert response.status_code == 200
    assert response.json() == {"message": HELLO}


def test_health_over_http(server: Server) -> None:
    response = httpx.get(server.url + "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_docs_and_spec_over_http(server: Server) -> None:
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200
    assert 'data-spec-url="/openapi.json"' in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js", "redoc.standalone.js"):
        loaded = httpx.get(f"{server.url}/docs/assets/{asset}")
        assert loaded.status_code == 200, asset
        assert loaded.headers["cache-control"] == "public, max-age=86400"
    spec = httpx.get(server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert httpx.get(server.url + "/redoc").status_code == 200


def test_errors_over_http_are_problem_json(server: Server) -> None:
    missing = httpx.get(server.url + "/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = httpx.post(server.url + "/hello")
    assert wrong.status_code == 405
    big = httpx.post(server.url + "/hello", content=b"x" * (1024 * 1024 + 1))
    assert big.status_code == 413
    assert big.json()["status"] == 413


def test_access_log_lines_are_json(server: Server) -> None:
    response = httpx.get(server.url + "/hello", headers={"authorization": "Bearer not-logged"})
    request_id = response.headers["x-request-id"]
    # The line is written when the response ends, which the client may see first:
    # give the server's log a moment to have it (then exactly one).
    deadline = time.monotonic() + 5
    while True:
        entries = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
        mine = [e for e in entries if e.get("request_id") == request_id]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(mine) == 1
    assert mine[0]["path"] == "/hello"
    assert mine[0]["status"] == 200
    assert "not-logged" not in server.log_path.read_text()


def test_uvicorn_refuses_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "1"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT / "src"), "APP_STORE": "postgres"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "APP_STORE" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_fresh_run_shows_a_restaurant_and_answers_head(tmp_path: Path) -> None:
    # `make run` on a fresh machine: local stage, an empty SQLite file, no APP_* set.
    with run_server(tmp_path, empty_store=False) as server:
        menu = httpx.get(server.url + "/menu")
        assert menu.status_code == 200
        names = [item["name"] for item in menu.json()["items"]]
        assert "Margherita" in names
        assert len(names) >= 4
        # curl -I: HEAD is GET's status and headers over a real socket, without a body.
        head = httpx.head(server.url + "/menu")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["etag"] == menu.headers["etag"]
        assert head.headers["content-length"] == menu.headers["content-length"]
        assert httpx.head(server.url + "/hello").status_code == 200
        assert httpx.head(server.url + "/orders").status_code == 401
