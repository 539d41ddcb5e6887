"""Live orders at ws://127.0.0.1:PORT/ws under a real uvicorn (`make run`), heard with
the `websockets` client: who hears what, refusals, the SQLite change feed, expiry."""

from __future__ import annotations

import ast
import json
import os
import re
import select
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.auth.tokens import AUDIENCE, ISSUER, Issuer
from tests.e2e.conftest import ROOT, Server, run_server

CUSTOMER = "orders:read orders:write"
STAFF = "orders:read orders:write orders:admin"
WAIT = 5.0


@dataclass
class Live:
    server: Server
    issuer: Issuer
    db: Path
    tokens: list[str]

    def token(self, sub: str, scope: str = CUSTOMER, **claims: Any) -> str:
        token = self.issuer.token(sub=sub, scope=scope, **claims)
        self.tokens.append(token)
        return token

    def ws_url(self, token: str | None) -> str:
        base = self.server.url.replace("http://", "ws://") + "/ws"
        return base if token is None else f"{base}?token={token}"

    def listen(self, sub: str, scope: str = CUSTOMER, **claims: Any) -> ClientConnection:
        return connect(self.ws_url(self.token(sub, scope, **claims)), open_timeout=WAIT)

    def call(self, method: str, path: str, sub: str, scope: str = CUSTOMER, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(sub, scope)}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.server.url + path, headers=headers, timeout=WAIT, **kwargs)

    def place(self, sub: str) -> dict[str, Any]:
        body = {"lines": [{"item_id": "margherita", "quantity": 1}]}
        placed = self.call("POST", "/orders", sub, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert placed.status_code == 201, placed.text
        return placed.json()  # type: ignore[no-any-return]

    def move(self, order: dict[str, Any], status: str) -> dict[str, Any]:
        headers = {"If-Match": f'"v{order["version"]}"'}
        path, body = f"/orders/{order['id']}", {"status": status}
        moved = self.call("PATCH", path, "cook", STAFF, json=body, headers=headers)
        assert moved.status_code == 200, moved.text
        return moved.json()  # type: ignore[no-any-return]

    def as_read(self, order_id: str) -> Any:
        return self.call("GET", f"/orders/{order_id}", "cook", STAFF).json()

    def put_dish(self, item_id: str, price: int) -> None:
        dish = {"name": item_id.title(), "price_cents": price, "available": True}
        assert self.call("PUT", f"/menu/{item_id}", "chef", "menu:write", json=dish).status_code in (200, 201)


def next_message(ws: ClientConnection) -> Any:
    return json.loads(ws.recv(timeout=WAIT))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    issuer = Issuer()
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    env = {
        "APP_AUTH_ISSUER": ISSUER,
        "APP_AUTH_AUDIENCE": AUDIENCE,
        "APP_AUTH_JWKS_FILE": str(jwks),
        "APP_RATE_LIMIT": "100000/minute",
    }
    with run_server(tmp, env, access_log=True) as server:
        state = Live(server, issuer, tmp / "app.db", [])
        # Every test listens before it changes anything, and hears each change it makes:
        # none is left in flight for the next test's connections.
        with state.listen("setup") as ws:
            state.put_dish("margherita", 1150)
            assert next_message(ws)["item"]["id"] == "margherita"
        yield state


def test_a_customer_hears_their_own_orders_and_the_menu_staff_hear_every_order(live: Live) -> None:
    with live.listen("alice") as alice, live.listen("bob") as bob, live.listen("cook", STAFF) as cook:
        mine = live.place("alice")
        heard = next_message(alice)
        assert heard == {"type": "order", "order": live.as_read(mine["id"])}
        assert next_message(cook) == heard

        theirs = live.place("bob")
        # Bob's next message is his own order: alice's never reached him.
        assert next_message(bob) == {"type": "order", "order": live.as_read(theirs["id"])}
        assert next_message(cook)["order"]["id"] == theirs["id"]

        live.put_dish("marinara", 950)
        dish = {"id": "marinara", "name": "Marinara", "price_cents": 950, "available": True}
        menu = {"type": "menu", "item": dish}
        # Alice's next message is the menu change: bob's order never reached her.
        assert next_message(alice) == menu
        assert next_message(bob) == menu
        assert next_message(cook) == menu

        assert live.call("DELETE", "/menu/marinara", "chef", "menu:write").status_code == 204
        assert next_message(alice) == {"type": "menu", "removed": "marinara"}


def test_a_status_change_arrives_with_the_body_get_returns(live: Live) -> None:
    with live.listen("carol") as carol, live.listen("cook", STAFF) as cook:
        order = live.place("carol")
        assert next_message(carol) == next_message(cook) == {"type": "order", "order": order}
        moved = live.move(order, "preparing")
        for ws in (carol, cook):
            message = next_message(ws)
            assert message == {"type": "order", "order": moved}
            assert message["order"] == live.as_read(order["id"])
            assert message["order"]["version"] == order["version"] + 1


def test_ping_is_answered_and_anything_else_is_an_error_that_never_echoes(live: Live) -> None:
    with live.listen("dave") as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert next_message(ws) == {"type": "pong"}
        ws.send("<script>secret-input</script>")
        reply = ws.recv(timeout=WAIT)
        assert json.loads(reply)["type"] == "error"
        assert "secret-input" not in reply
        ws.send(b"\x00binary")
        assert next_message(ws)["type"] == "error"


@pytest.mark.parametrize(
    ("case", "status"),
    [("no token", 401), ("bad token", 401), ("expired token", 401), ("wrong scope", 403)],
)
def test_a_refused_handshake_answers_401_or_403_and_opens_nothing(live: Live, case: str, status: int) -> None:
    token = {
        "no token": None,
        "bad token": live.token("eve")[:-4] + "AAAA",
        "expired token": live.token("eve", exp=int(time.time()) - 120),
        "wrong scope": live.token("eve", "menu:write"),
    }[case]
    with pytest.raises(InvalidStatus) as refused:
        connect(live.ws_url(token), open_timeout=WAIT)
    response = refused.value.response
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(response.body or b"{}")["status"] == status
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api"')
    assert ("invalid_token" in challenge) == (case in ("bad token", "expired token"))


def test_an_operators_committed_write_is_announced_and_a_rolled_back_one_never(live: Live) -> None:
    change = "UPDATE orders SET status = ?, version = version + 1 WHERE id = ?"
    with live.listen("frank") as ws, sqlite3.connect(live.db, isolation_level=None, timeout=5) as operator:
        order = live.place("frank")
        assert next_message(ws)["order"]["version"] == order["version"]
        operator.execute("BEGIN IMMEDIATE")
        operator.execute(change, ("cancelled", order["id"]))
        operator.execute("ROLLBACK")
        operator.execute("BEGIN IMMEDIATE")
        operator.execute(change, ("preparing", order["id"]))
        operator.execute("COMMIT")
        message = next_message(ws)
        assert message["order"]["status"] == "preparing"
        assert message["order"]["version"] == order["version"] + 1
        assert message["order"] == live.as_read(order["id"])


def test_a_reconnecting_client_resyncs_by_reading_and_hears_what_follows(live: Live) -> None:
    with live.listen("grace") as first:
        order = live.place("grace")
        assert next_message(first)["order"]["version"] == order["version"]
    order = live.move(order, "preparing")  # while grace is away
    with live.listen("grace") as second:
        seen = live.call("GET", f"/orders/{order['id']}", "grace").json()  # the re-read on reconnect
        assert seen == order
        served = live.move(order, "ready")
        # What follows arrives; the change made while away may too (at least once), never older.
        versions = []
        while not versions or versions[-1] < served["version"]:
            message = next_message(second)
            assert message["order"]["id"] == order["id"]
            versions.append(message["order"]["version"])
        assert versions == sorted(versions)
        assert versions[0] >= order["version"]
        assert message == {"type": "order", "order": served}


def test_a_connection_stops_at_its_tokens_expiry(live: Live) -> None:
    with live.listen("heidi", exp=int(time.time()) + 3) as ws:
        live.place("heidi")
        assert next_message(ws)["type"] == "order"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


def test_no_log_line_holds_a_token(live: Live) -> None:
    with live.listen("ivan"):
        pass
    with pytest.raises(InvalidStatus):
        connect(live.ws_url(live.token("ivan", "menu:write")), open_timeout=WAIT)
    time.sleep(0.2)
    log = live.server.log_path.read_text()
    assert '"WebSocket /ws"' in log  # uvicorn's own handshake line, path only
    assert "ERROR" not in log  # a refusal is no server error
    # Only the placeholder of the start-up line and of the no-token refusal.
    assert {found.rstrip('."}') for found in re.findall(r"token=\S*", log)} == {"token=ACCESS_TOKEN"}
    for token in live.tokens:
        assert token not in log
        assert token.split(".")[2] not in log


def guide_snippet() -> str:
    """The Python block of the live orders guide's "Connecting locally" (docs/live-orders.md)."""
    text = (ROOT / "docs" / "live-orders.md").read_text()
    section = text[text.index("## Connecting locally") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_guides_python_snippet_hears_its_pong_and_its_orders(live: Live) -> None:
    code = guide_snippet().replace("127.0.0.1:8000", live.server.url.removeprefix("http://"))
    env = {**os.environ, "TOKEN": live.token("judy")}
    snippet = subprocess.Popen([sys.executable, "-u", "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    assert snippet.stdout is not None

    def printed() -> Any:
        ready, _, _ = select.select([snippet.stdout], [], [], WAIT)
        assert ready, "the snippet printed nothing"
        return ast.literal_eval(snippet.stdout.readline())  # it prints each message's dict

    try:
        assert printed() == {"type": "pong"}
        order = live.place("judy")
        assert printed() == {"type": "order", "order": order}
    finally:
        snippet.kill()
        snippet.wait()
