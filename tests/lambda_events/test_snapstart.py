"""SnapStart's runtime hooks: registered only for a SnapStart init; the
before-snapshot hook primes without the network; the after-restore hook resets
what restored copies must not share."""

from __future__ import annotations

import base64
import json
import pickle
import random
import socket
import subprocess
import sys
import uuid
from typing import Any

import pytest
import snapshot_restore_py

from app.aws_lambda import snapstart
from app.aws_lambda.adapter import LambdaAdapter
from app.main import create_app
from app.settings import Settings


@pytest.fixture
def dead_endpoint() -> str:
    """Nothing listens here: a call that reached the network would fail."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def deployed(dead_endpoint: str, fake_aws: None, tmp_path: Any) -> LambdaAdapter:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    settings = Settings(
        store="dynamodb",
        dynamodb_table=f"t-{uuid.uuid4().hex[:8]}",
        rate_limit="100/minute",
        auth_jwks_file=str(jwks),
    )
    # The cloud's wiring (no APP_DYNAMODB_ENDPOINT_URL, so nothing is created at
    # start), with the client's endpoint pointing nowhere.
    from app.store.sdk import new_client

    client = new_client(dead_endpoint)
    from app.ratelimit.factory import build_limiter
    from app.store.factory import build_store

    app = create_app(
        settings, store=build_store(settings, client=client), limiter=build_limiter(settings, client=client)
    )
    return LambdaAdapter(app)


@pytest.fixture
def registry() -> Any:
    before = list(snapshot_restore_py.get_before_snapshot())
    after = list(snapshot_restore_py.get_after_restore())
    yield snapshot_restore_py
    snapshot_restore_py.get_before_snapshot()[:] = before
    snapshot_restore_py.get_after_restore()[:] = after


def test_hooks_are_registered_only_for_a_snapstart_init(
    deployed: LambdaAdapter, registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = len(registry.get_before_snapshot()), len(registry.get_after_restore())
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    assert snapstart.register(deployed) is False
    assert (len(registry.get_before_snapshot()), len(registry.get_after_restore())) == count
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    assert snapstart.register(deployed) is True
    assert (len(registry.get_before_snapshot()), len(registry.get_after_restore())) == (
        count[0] + 1,
        count[1] + 1,
    )


def test_before_snapshot_primes_the_app_and_the_client_without_the_network(deployed: LambdaAdapter) -> None:
    client = deployed.app.state.store._client  # type: ignore[attr-defined]
    snapstart.before_snapshot(deployed)
    assert deployed.started  # the lifespan ran: store, menu service
    assert deployed.app.state.menu is not None  # type: ignore[attr-defined]
    # The priming answers are gone: a real call now goes out (and finds nothing).
    from botocore.exceptions import EndpointConnectionError

    with pytest.raises(EndpointConnectionError):
        client.update_item(TableName="x", Key={"PK": {"S": "a"}, "SK": {"S": "b"}})


def test_the_priming_request_went_through_the_limiter_on_a_canned_answer(
    deployed: LambdaAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[dict[str, Any]] = []
    real = LambdaAdapter.__call__

    def spy(self: LambdaAdapter, event: Any, context: Any) -> dict[str, Any]:
        answers.append(real(self, event, context))
        return answers[-1]

    monkeypatch.setattr(LambdaAdapter, "__call__", spy)
    snapstart.before_snapshot(deployed)
    (answer,) = answers
    assert answer["statusCode"] == 200
    assert answer["headers"]["ratelimit"].startswith('"default";r=99;')  # the canned count of 1


def test_after_restore_resets_random_state_time_bound_state_and_connections(
    deployed: LambdaAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapstart.before_snapshot(deployed)
    keys = snapstart._jwks(deployed)
    assert keys is not None
    keys._last_attempt = 123.0
    invalidated: list[bool] = []
    monkeypatch.setattr(deployed.app.state.menu, "invalidate", lambda: invalidated.append(True))  # type: ignore[attr-defined]
    closed: list[bool] = []
    client = deployed.app.state.store._client  # type: ignore[attr-defined]
    monkeypatch.setattr(client, "close", lambda: closed.append(True))
    random.seed(7)
    snapshot_draw = random.random()  # noqa: S311 - the generator under test
    random.seed(7)  # the state every copy of the snapshot would share
    snapstart.after_restore(deployed)
    assert random.random() != snapshot_draw  # noqa: S311
    assert keys._last_attempt is None
    assert invalidated == [True]
    assert closed == [True]


# One restored copy: a fresh interpreter whose random generator starts from the
# snapshot's state (as every copy Lambda restores does), runs the after-restore hook
# when told to, and reports what it draws next.
RESTORED_COPY = """
import base64, json, pickle, random, secrets, sys, uuid
from types import SimpleNamespace
from app.aws_lambda import snapstart
random.setstate(pickle.loads(base64.b64decode(sys.argv[1])))
if sys.argv[2] == "restore":
    state = SimpleNamespace(menu=None, store=None, verifier=None)
    snapstart.after_restore(SimpleNamespace(app=SimpleNamespace(state=state)))
print(json.dumps([random.random(), random.getrandbits(64), str(uuid.uuid4()), secrets.token_hex(16)]))
"""


def restored_copy(snapshot: str, hook: str) -> list[Any]:
    result = subprocess.run(
        [sys.executable, "-c", RESTORED_COPY, snapshot, hook], capture_output=True, text=True, check=True
    )
    draws: list[Any] = json.loads(result.stdout)
    return draws


def test_each_restored_copy_draws_its_own_random_numbers() -> None:
    random.seed(7)  # the generator as the snapshot froze it
    snapshot = base64.b64encode(pickle.dumps(random.getstate())).decode()
    first, second = restored_copy(snapshot, "restore"), restored_copy(snapshot, "restore")
    unrestored = restored_copy(snapshot, "none")
    # Without the hook, two copies draw the same: the state really is shared.
    assert restored_copy(snapshot, "none")[:2] == unrestored[:2]
    # The hook gives each copy its own `random` (botocore's retry jitter among others),
    # unlike the snapshot's continuation...
    assert first[:2] != second[:2]
    assert unrestored[:2] not in (first[:2], second[:2])
    # ...while ids come from the OS in every copy, hook or not.
    assert len({first[2], second[2], unrestored[2]}) == len({first[3], second[3], unrestored[3]}) == 3
