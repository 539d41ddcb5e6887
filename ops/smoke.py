"""`make smoke URL=...`: the checks a team runs after every deploy, against any base URL.

  python -m ops.smoke --url https://abc123.execute-api.eu-west-1.amazonaws.com/dev --stack serverless-api-dev
  python -m ops.smoke --url http://127.0.0.1:3000/dev          # the twin (make cloud)

Each check prints one line, ``ok`` or ``FAIL`` with what was seen; the exit status is
non-zero when any check failed. The token comes by itself where it can: with
``--stack``, the stack's machine client's client-credentials grant (its secret read
through the Cognito API, never printed); against a loopback URL, the twin's issuer
(``python -m twin token``); otherwise ``--token`` or ``SMOKE_TOKEN``.

What it writes it cleans up: one menu item with a random id (deleted at the end) and
one order (cancelled: orders are never deleted).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

# The pre-traffic hook checks the new version for the same greeting before any traffic
# moves (src/app/aws_lambda/pretraffic.py; a stdlib-only module).
from app.aws_lambda.pretraffic import HELLO_TEXT

ROOT = Path(__file__).resolve().parents[1]
SCOPES = ("menu:write", "orders:read", "orders:write", "orders:admin")
FOREIGN_ORIGIN = "https://smoke-test.invalid"


class CheckFailed(Exception):
    pass


@dataclass
class Smoke:
    url: str
    token: str | None
    origin: str | None
    timeout: float = 15.0
    results: list[tuple[str, bool, str]] = field(default_factory=list)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=False)

    def auth(self) -> dict[str, str]:
        if not self.token:
            raise CheckFailed("no token: pass --stack, --token or SMOKE_TOKEN")
        return {"Authorization": f"Bearer {self.token}"}

    def check(self, name: str, run: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail = run()
        except (CheckFailed, httpx.HTTPError, KeyError, ValueError) as error:
            self.results.append((name, False, str(error)))
            print(f"FAIL  {name}: {error}", flush=True)
            return False
        elapsed = (time.perf_counter() - started) * 1000
        self.results.append((name, True, detail))
        print(f"ok    {name}: {detail} ({elapsed:.0f} ms)", flush=True)
        return True


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        request = response.request
        raise CheckFailed(
            f"{request.method} {request.url} answered {response.status_code}, expected {status}: "
            f"{response.text[:200]}"
        )
    return response


def run_checks(smoke: Smoke) -> bool:
    c, url = smoke.client, smoke.url
    stage_path = urlsplit(url).path  # "" at a custom domain's root, "/dev" on a stage

    def hello() -> str:
        body = expect(c.get(f"{url}/hello"), 200).json()
        if HELLO_TEXT not in body.get("message", ""):
            raise CheckFailed(f"unexpected body {body}")
        return "200, the greeting"

    def docs() -> str:
        page = expect(c.get(f"{url}/docs"), 200).text
        spec = f'data-spec-url="{stage_path}/openapi.json"'
        if spec not in page:
            raise CheckFailed(f"the docs page does not load {stage_path}/openapi.json")
        document = expect(c.get(f"{url}/openapi.json"), 200).json()
        return f"docs and OpenAPI {document['openapi']} under {stage_path or '/'}"

    def unauthorized() -> str:
        response = expect(c.get(f"{url}/orders"), 401)
        source = "the app" if "x-request-id" in response.headers else "the gateway"
        return f"401 from {source}"

    def preflight() -> str:
        refused = c.options(
            f"{url}/orders",
            headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        if "access-control-allow-origin" in refused.headers:
            raise CheckFailed(f"{FOREIGN_ORIGIN} was allowed")
        if smoke.origin is None:
            return f"a foreign origin refused ({refused.status_code}); no --origin to check"
        allowed = expect(
            c.options(
                f"{url}/orders",
                headers={
                    "Origin": smoke.origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
                },
            ),
            204,
        )
        if allowed.headers.get("access-control-allow-origin") != smoke.origin:
            raise CheckFailed(f"{smoke.origin} was not allowed")
        return f"{smoke.origin} allowed, a foreign origin refused"

    item_id = f"smoke-{uuid.uuid4().hex[:10]}"
    created: dict[str, Any] = {}

    def menu_write() -> str:
        body = {"name": "Smoke test dish", "price_cents": 1, "available": True}
        expect(c.put(f"{url}/menu/{item_id}", json=body, headers=smoke.auth()), 201)
        expect(c.get(f"{url}/menu/{item_id}"), 200)
        created["item"] = item_id
        return f"PUT and GET /menu/{item_id}"

    def order_round_trip() -> str:
        if "item" not in created:
            raise CheckFailed("skipped: the menu write failed")
        order = expect(
            c.post(
                f"{url}/orders",
                json={"lines": [{"item_id": item_id, "quantity": 1}], "note": "smoke test"},
                headers={**smoke.auth(), "Idempotency-Key": f"smoke-{uuid.uuid4().hex}"},
            ),
            201,
        )
        order_id = order.json()["id"]
        read = expect(c.get(f"{url}/orders/{order_id}", headers=smoke.auth()), 200)
        etag = read.headers["etag"]
        expect(c.get(f"{url}/orders/{order_id}", headers={**smoke.auth(), "If-None-Match": etag}), 304)
        cancelled = expect(
            c.patch(
                f"{url}/orders/{order_id}",
                json={"status": "cancelled"},
                headers={**smoke.auth(), "If-Match": etag},
            ),
            200,
        )
        if cancelled.json()["status"] != "cancelled":
            raise CheckFailed(f"the order is {cancelled.json()['status']}")
        return f"order {order_id} created, read, 304, cancelled"

    def clean_up() -> str:
        if "item" not in created:
            return "nothing to remove"
        expect(c.delete(f"{url}/menu/{item_id}", headers=smoke.auth()), 204)
        expect(c.get(f"{url}/menu/{item_id}"), 404)
        return f"/menu/{item_id} removed"

    checks = [
        ("hello", hello),
        ("docs under the stage", docs),
        ("401 without a token", unauthorized),
        ("CORS preflight", preflight),
        ("menu write", menu_write),
        ("order round trip", order_round_trip),
        ("clean-up", clean_up),
    ]
    outcomes = [smoke.check(name, run) for name, run in checks]  # every check runs, failed or not
    return all(outcomes)


# -- tokens -----------------------------------------------------------------------------


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def cognito_token(outputs: dict[str, str], region: str | None) -> str:
    """The machine client's client-credentials grant, its secret read through the Cognito API."""
    import boto3

    cognito = boto3.client("cognito-idp", region_name=region)
    client = cognito.describe_user_pool_client(
        UserPoolId=outputs["UserPoolId"], ClientId=outputs["MachineClientId"]
    )["UserPoolClient"]
    scopes = " ".join(f"orders-api/{scope}" for scope in SCOPES)
    response = httpx.post(
        outputs["AuthTokenEndpoint"],
        data={"grant_type": "client_credentials", "scope": scopes},
        auth=(client["ClientId"], client["ClientSecret"]),
        timeout=15,
    )
    if response.status_code != 200:
        raise CheckFailed(f"the token endpoint answered {response.status_code}: {response.text[:200]}")
    return str(response.json()["access_token"])


def twin_token(state_dir: str | None) -> str:
    env = {**os.environ, **({"TWIN_STATE_DIR": state_dir} if state_dir else {})}
    result = subprocess.run(  # noqa: S603 - this interpreter, the twin's own command
        [sys.executable, "-m", "twin", "token", "--sub", "smoke-test", "--scope", " ".join(SCOPES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise CheckFailed(f"no twin token: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the API's base URL, with the stage if it has one")
    parser.add_argument("--stack", help="a deployed stack: token from its machine client, origin from WebUrl")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    parser.add_argument("--token", default=os.environ.get("SMOKE_TOKEN"), help="a bearer token to use")
    parser.add_argument("--origin", help="the web app's origin, whose CORS preflight must pass")
    parser.add_argument("--twin-state", default=os.environ.get("TWIN_STATE_DIR"), help="the twin's state dir")
    args = parser.parse_args(argv)

    origin, token = args.origin, args.token
    print(f"smoke: {args.url}", flush=True)
    try:
        if args.stack:
            outputs = stack_outputs(args.stack, args.region)
            origin = origin or outputs.get("WebUrl")
            token = token or cognito_token(outputs, args.region)
            print(f"smoke: token from {args.stack}'s machine client (client credentials)", flush=True)
        elif not token and urlsplit(args.url).hostname in ("127.0.0.1", "localhost"):
            token = twin_token(args.twin_state)
            print("smoke: token from the twin's issuer", flush=True)
    except (CheckFailed, httpx.HTTPError, OSError) as error:
        print(f"FAIL  token: {error}", flush=True)
        token = None

    smoke = Smoke(args.url, token, origin)
    passed = run_checks(smoke)
    failed = sum(1 for _, ok, _ in smoke.results if not ok)
    print(f"smoke: {len(smoke.results) - failed} of {len(smoke.results)} checks passed", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
