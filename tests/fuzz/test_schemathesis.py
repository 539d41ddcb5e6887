"""Schema-driven fuzzing: schemathesis against a real uvicorn serving the app.

The schema is the app's own OpenAPI document. Every operation is called over
HTTP with a token that holds every scope, so the protected routes are reached,
and every response goes through schemathesis' default checks: no 5xx, a
documented status code, the documented content type, headers and body schema,
invalid input rejected and valid input accepted, a missing required header
refused, 405 with an accurate ``Allow``, and a protected route that really
demands its token. A second test follows the OpenAPI links (place an order,
read it, change it; put a menu item, read it, delete it) as stateful sequences.

The schema is loaded when the tests are collected, from an app built in this
process with the same code the server runs (schemathesis' lazy
``from_fixture`` loader does not work with pytest 9.2), and
``test_the_fuzzed_schema_is_the_served_one`` proves it is exactly what the
running server serves at ``/openapi.json``.

Bounded for CI: a fixed number of examples per operation and of stateful
scenarios, derandomized so every run sends the same requests, no per-example
deadline (a 2-core CI machine may be slow; it may not be wrong).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import AuthContext, Case, HookContext, Response
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.http.problems import TYPE_PREFIX
from app.main import create_app
from app.menu.schemas import ITEM_ID_PATTERN
from app.settings import Settings
from tests.auth.tokens import Issuer
from tests.e2e.conftest import Server, run_server

EXAMPLES_PER_OPERATION = 100
STATEFUL_SCENARIOS = 200
STATEFUL_STEPS = 10
ALL_SCOPES = "orders:read orders:write orders:admin menu:write"
SEED_MENU = {
    "margherita": {"name": "Margherita", "price_cents": 1150, "available": True},
    "calzone": {"name": "Calzone", "price_cents": 1300, "available": True},
}
ITEM_ID = re.compile(ITEM_ID_PATTERN)

OPENAPI: dict[str, Any] = create_app(Settings(docs_enabled=True, rate_limit="0")).openapi()
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
        "request-timeout": 30,
        # A missing If-Match is 428 Precondition Required (RFC 6585), the status
        # made for it; the check's defaults do not list it.
        "checks": {
            "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]},
        },
    }
)
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(OPENAPI)), config=CONFIG)

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# -- the token ------------------------------------------------------------------


class Bearer:
    """The token schemathesis sends; minted when the tests run, not at collection."""

    token = ""

    @classmethod
    def mint(cls, sub: str) -> dict[str, str]:
        cls.token = Issuer().token(sub=sub, scope=ALL_SCOPES)
        return {"Authorization": f"Bearer {cls.token}"}


@schema.auth(refresh_interval=None)
class FuzzerAuth:
    """Through schemathesis' auth hook, not a fixed header: a case that tests a
    missing or broken credential still goes out without this one."""

    def get(self, case: Case, context: AuthContext) -> str:
        return Bearer.token

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# -- steering generation toward the menu ------------------------------------------


@schema.hook
def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Half of the generated orders name items that are on the menu.

    An id matching the pattern is almost never on the menu, so without this
    nearly every order would be a 422 and the paths behind a placed order
    (reading it, changing its status) would go untested. Only well-formed ids
    are replaced, so an invalid one in a negative case stays invalid.
    """
    operation = context.operation
    lines = _lines_of(body)
    if operation is None or operation.label != "POST /orders" or not lines:
        return st.just(body)
    known = st.lists(st.sampled_from(sorted(SEED_MENU)), min_size=len(lines), max_size=len(lines))
    return st.one_of(st.just(body), known.map(lambda ids: {**body, "lines": _with_items(lines, ids)}))


def _lines_of(body: Any) -> list[Any]:
    lines = body.get("lines") if isinstance(body, dict) else None
    return lines if isinstance(lines, list) else []


def _with_items(lines: list[Any], ids: list[str]) -> list[Any]:
    return [
        {**line, "item_id": item_id} if _names_an_item(line) else line
        for line, item_id in zip(lines, ids, strict=True)
    ]


def _names_an_item(line: Any) -> bool:
    return (
        isinstance(line, dict)
        and isinstance(line.get("item_id"), str)
        and bool(ITEM_ID.fullmatch(line["item_id"]))
    )


# -- validation ---------------------------------------------------------------------

# Rejections that no schema can express, because they depend on what is stored
# rather than on the request's shape: an order line naming an item that is not
# (or no longer) on the menu, a cursor this API never issued, an Idempotency-Key
# reused with another body (documented 422s: docs/api.md, the operations'
# descriptions), and an If-Match naming another version than the current one
# (412). schemathesis' positive_data_acceptance check expects a 404 or 409 for
# such cases, so it is skipped for exactly these responses and no others.
STATE_DEPENDENT_CODES = frozenset({"unknown_item", "unavailable_item", "invalid_cursor"})
STATE_DEPENDENT_TYPES = frozenset({TYPE_PREFIX + "idempotency-key-reused"})


def _state_dependent_rejection(response: Response) -> bool:
    if response.status_code == 412:
        return True
    if response.status_code != 422:
        return False
    body = response.json()
    if body.get("type") in STATE_DEPENDENT_TYPES:
        return True
    codes = {error.get("code") for error in body.get("errors", [])}
    return bool(codes) and codes <= STATE_DEPENDENT_CODES


def validate(case: Case, response: Response, base_url: str) -> None:
    excluded = [positive_data_acceptance] if _state_dependent_rejection(response) else []
    case.validate_response(response, excluded_checks=excluded, transport_kwargs={"base_url": base_url})


# -- the server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin() -> dict[str, str]:
    return Bearer.mint("fuzzer")


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, trust_env: Mapping[str, str], admin: dict[str, str]
) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    env = {"APP_STORE": "sqlite", **trust_env, "APP_RATE_LIMIT": "0"}
    with run_server(tmp_path, env) as server:
        yield server
        _assert_no_tracebacks(server.log_path)


def _assert_no_tracebacks(log_path: Path) -> None:
    text = log_path.read_text()
    assert "Traceback" not in text, text[-4000:]


def reset_menu(base_url: str, auth: dict[str, str]) -> None:
    """Back to the seeded menu: what earlier examples put or deleted is undone."""
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as http:
        for item in http.get("/menu").json()["items"]:
            if item["id"] not in SEED_MENU:
                assert http.delete(f"/menu/{item['id']}").status_code in (204, 404)
        for item_id, body in SEED_MENU.items():
            assert http.put(f"/menu/{item_id}", json=body).status_code in (200, 201)


@pytest.fixture
def seeded_menu(fuzz_server: Server, admin: dict[str, str]) -> None:
    reset_menu(fuzz_server.url, admin)
    Bearer.mint("fuzzer")


# -- the tests ----------------------------------------------------------------------


def test_the_fuzzed_schema_is_the_served_one(fuzz_server: Server) -> None:
    served = httpx.get(f"{fuzz_server.url}/openapi.json")
    assert served.status_code == 200
    assert served.json() == OPENAPI


@schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.usefixtures("seeded_menu")
def test_every_operation_conforms(case: Case, fuzz_server: Server) -> None:
    response = case.call(base_url=fuzz_server.url)
    validate(case, response, fuzz_server.url)


def test_stateful_links(fuzz_server: Server, admin: dict[str, str]) -> None:
    """Sequences along the OpenAPI links: place an order, read it, move it
    through its states with the ETag just seen; put a menu item, read it,
    delete it (and find it gone).

    Hypothesis requires the same steps to meet the same answers, so each
    scenario starts from the same state: the seeded menu, and a customer of its
    own (orders and Idempotency-Keys are per customer).
    """
    scenarios = itertools.count()
    # The kitchen's board lists every customer's open orders: what it answers
    # depends on earlier scenarios, which Hypothesis would call flaky. Its own
    # examples run in test_every_operation_conforms.
    per_customer = schema.exclude(path="/kitchen/orders")

    class Links(per_customer.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            reset_menu(fuzz_server.url, admin)
            Bearer.mint(f"fuzzer-{next(scenarios)}")

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": fuzz_server.url}

        def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
            validate(case, response, fuzz_server.url)

    Links.run(
        settings=settings(FUZZ_SETTINGS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS)
    )
