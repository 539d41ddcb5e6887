"""`python -m twin`: the stack as deployed, on this machine (make cloud).

  python -m twin serve [--config-env default] [--port 3000] [--artifact DIR] [--web-port 3001]
                       [--ws-port 3002]
  python -m twin token --sub alice --scope "orders:read orders:write" [--group staff]

``serve`` reads template.yaml through SAM's translator with the environment's
parameters, starts a DynamoDB-compatible server on loopback with the template's
tables, runs the built artifact in Lambda-like workers and serves the HTTP API
at http://127.0.0.1:PORT/{stage}/, and the web app's build (web/dist) as its
CloudFront distribution serves it, at http://127.0.0.1:WEB_PORT/, signing in
through the twin's issuer (the development sign-in, as Cognito's stand-in), and
the WebSocket API at ws://127.0.0.1:WS_PORT/{stage} with its tables' streams fed
to the stream consumer as Lambda's event source mapping feeds it (twin/live.py).
``token`` mints a token the running twin's function accepts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from jose import jwt

from app.devsignin.core import DevSignIn, callback_uris
from app.devtoken import ensure_key
from twin.cdn import serve_site, web_distribution
from twin.dynamo import SerialMotoServer
from twin.gateway import Gateway, GatewayServer, Request, Response
from twin.lambda_service import LambdaService, runtime_python
from twin.live import Live, management_url, start_live, stream_specification
from twin.stack import REGION, ROOT, Stack, load_stack

log = logging.getLogger("twin")

# The issuer's key and what `token` needs to know (TWIN_STATE_DIR to keep twins apart).
STATE_DIR = Path(os.environ.get("TWIN_STATE_DIR") or ROOT / ".local" / "twin")
JWKS_FILE = STATE_DIR / "jwks.json"
STATE_FILE = STATE_DIR / "state.json"
ISSUER_PATH = "/.twin/issuer"
AUDIENCE = "serverless-api-twin"
WEB_DIST = ROOT / "web" / "dist"
# The scopes the twin's web app asks for: the stack's WebClient allows only these; staff
# and chefs get their role from their group (cognito:groups), as in the cloud.
WEB_SCOPES = "openid orders:read orders:write"
FAKE_CREDENTIALS = {
    "aws_access_key_id": "ASIATWINTWINTWINTWIN",
    "aws_secret_access_key": "twin-secret-access-key",
    "aws_session_token": "twin-session-token",
}
MACHINE_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def machine_architecture() -> str:
    return MACHINE_ARCHITECTURE.get(platform.machine(), platform.machine())


# -- data -----------------------------------------------------------------------------


def create_tables(stack: Stack, endpoint: str) -> None:
    """Each table of the template, from its own definition (keys, indexes, TTL)."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
        aws_session_token=FAKE_CREDENTIALS["aws_session_token"],
    )
    for table in stack.tables.values():
        props = table.properties
        arguments: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if props.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "ProvisionedThroughput" in props:
            arguments["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        if stream_specification(props):
            arguments["StreamSpecification"] = stream_specification(props)
        client.create_table(**arguments)
        client.get_waiter("table_exists").wait(TableName=table.name)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(TableName=table.name, TimeToLiveSpecification=ttl)
        log.info("table %s created from %s's definition", table.name, table.logical_id)


# -- identity -------------------------------------------------------------------------


def issuer_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{ISSUER_PATH}"


def jwks_response() -> Response:
    body = JWKS_FILE.read_bytes()
    return Response(200, [("Content-Type", "application/json"), ("Cache-Control", "max-age=300")], body)


def mint(sub: str, scope: str, ttl: int = 3600, groups: Sequence[str] = ()) -> str:
    """A token from the twin's issuer, shaped like a Cognito access token (client_id, no aud,
    the user's groups in cognito:groups)."""
    if not STATE_FILE.exists():
        raise SystemExit("twin token: no twin has run here yet; start one with `make cloud`")
    state = json.loads(STATE_FILE.read_text())
    pem, kid = ensure_key(JWKS_FILE)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": state["issuer"],
        "client_id": state["audience"],
        "sub": sub,
        "scope": " ".join(state["scope_prefix"] + s for s in scope.split()),
        "token_use": "access",
        "iat": now,
        "exp": now + ttl,
    }
    if groups:
        claims["cognito:groups"] = list(groups)
    return str(jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": kid}))


def substitute_identity(stack: Stack, port: int) -> dict[str, str]:
    """The cloud values the twin replaces, each said at start-up."""
    overrides: dict[str, str] = {}
    for route in stack.routes:
        # The gateway's authorizer trusts what the function trusts: the twin's issuer.
        if route.authorizer is not None and route.authorizer["issuer"].startswith("https://cognito-idp."):
            route.authorizer["issuer"] = issuer_url(port)
            route.authorizer["audience"] = [AUDIENCE]
    if any(route.authorizer for route in stack.routes):
        stack.notes.append(
            f"gateway authorizer: JWT, issuer {issuer_url(port)}, on "
            f"{sum(1 for r in stack.routes if r.authorizer)} of {len(stack.routes)} routes"
        )
    for function in stack.functions.values():
        issuer = function.environment.get("APP_AUTH_ISSUER", "")
        # Said once: every function that verifies tokens (the API, the WebSocket
        # API's authorizer) trusts the same issuer.
        if issuer.startswith("https://cognito-idp.") and "APP_AUTH_ISSUER" not in overrides:
            overrides["APP_AUTH_ISSUER"] = issuer_url(port)
            overrides["APP_AUTH_AUDIENCE"] = AUDIENCE
            stack.notes.append(
                f"identity: the stack's Cognito user pool ({issuer}) is replaced by the twin's issuer "
                f"{issuer_url(port)} (audience {AUDIENCE}); get a token with `make cloud-token`"
            )
    return overrides


# -- the web app ------------------------------------------------------------------------


def substitute_site(stack: Stack, web_origin: str) -> dict[str, str]:
    """The web distribution's origin among the function's CORS origins becomes the local site's."""
    overrides: dict[str, str] = {}
    for function in stack.functions.values():
        origins = function.environment.get("APP_CORS_ALLOW_ORIGINS", "").split(",")
        cloud = [o for o in origins if o.endswith(".twin.invalid")]
        if cloud:
            local = [web_origin if o in cloud else o for o in origins]
            overrides["APP_CORS_ALLOW_ORIGINS"] = ",".join(local)
            stack.notes.append(f"web: the web distribution's origin is the twin's site {web_origin}")
    return overrides


def signin_handler(signin: DevSignIn, allowed_origins: frozenset[str]) -> Any:
    """The issuer's sign-in on the gateway's port, with the CORS a page elsewhere needs
    to read its discovery document and token answers (Cognito's endpoints send it too)."""

    def handle(request: Request) -> Response | None:
        path, _, query = request.target.partition("?")
        reply = signin.handle(request.method, path, query, request.body)
        if reply is None:
            return None
        headers = list(reply.headers)
        origin = next((v for k, v in request.headers if k.lower() == "origin"), None)
        if origin in allowed_origins:
            headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return Response(reply.status, headers, reply.body)

    return handle


# -- serve ----------------------------------------------------------------------------


class Twin:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.services: dict[str, LambdaService] = {}
        self.server: GatewayServer | None = None
        self.dynamo: SerialMotoServer | None = None
        self.site: AbstractContextManager[tuple[str, ThreadingHTTPServer]] | None = None
        self.web_url = ""
        self.live = Live()

    def start(self) -> str:
        args = self.args
        architecture = machine_architecture()
        overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
        stack = load_stack(
            args.config_env,
            template=Path(args.template),
            overrides=overrides,
            optional={"Architecture": architecture},
        )
        if "Architecture" in stack.parameters:
            stack.notes.append(
                f"architecture: the artifact is built and run for this machine's {architecture} "
                "(the Architecture parameter; the cloud's is in template.yaml and samconfig.toml)"
            )
        self.stack = stack

        self.dynamo = SerialMotoServer("127.0.0.1", 0)
        self.dynamo.start()
        host, dynamo_port = self.dynamo.get_host_and_port()
        endpoint = f"http://{host}:{dynamo_port}"
        create_tables(stack, endpoint)

        overrides_env = substitute_identity(stack, args.port)
        self.web_origin = f"http://127.0.0.1:{args.web_port}" if args.web_port else ""
        if self.web_origin:
            overrides_env |= substitute_site(stack, self.web_origin)
        if stack.tables:
            overrides_env["APP_DYNAMODB_ENDPOINT_URL"] = endpoint
            stack.notes.append(
                f"data: DynamoDB is a local server at {endpoint} (moto), tables made from the template"
            )
        if stack.websocket is not None and args.ws_port:
            overrides_env["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] = management_url(stack, args.ws_port)
        ensure_key(JWKS_FILE)
        STATE_FILE.write_text(
            json.dumps(
                {
                    "issuer": overrides_env.get("APP_AUTH_ISSUER", ""),
                    "audience": AUDIENCE,
                    "scope_prefix": next(
                        (f.environment.get("APP_AUTH_SCOPE_PREFIX", "") for f in stack.functions.values()), ""
                    ),
                    "url": f"http://127.0.0.1:{args.port}/{stack.stage}",
                }
            )
        )

        python = runtime_python(Path(args.runtime_venv))
        for logical_id, function in stack.functions.items():
            if not function.runtime.startswith("python3.13"):
                raise SystemExit(f"twin: {logical_id} runs {function.runtime}; the twin runs python3.13 only")
            code_dir = Path(args.artifact) if args.artifact else None
            if code_dir is None:
                raise SystemExit("twin: --artifact (the sam build output of the function) is required")
            self.services[logical_id] = LambdaService(
                function,
                code_dir=code_dir.resolve(),
                python=python,
                runtime_dir=Path(args.runtime_venv).resolve(),
                overrides=overrides_env,
                max_workers=args.max_workers,
            )
        session = boto3.Session(region_name=REGION, **FAKE_CREDENTIALS)  # type: ignore[arg-type]
        self.live = start_live(stack, self.services, args.ws_port, session, endpoint)
        gateway = Gateway(stack, self.services, custom_domain=args.custom_domain)
        if args.custom_domain:
            stack.notes.append(
                f"custom domain: requests arrive as through {args.custom_domain} mapped at its root "
                "(no stage in the path)"
            )
        scope_prefix = json.loads(STATE_FILE.read_text())["scope_prefix"]
        signin = DevSignIn(
            issuer=issuer_url(args.port),
            jwks_file=JWKS_FILE,
            client_id=AUDIENCE,
            audience=None,  # Cognito's shape: client_id, no aud
            scope_prefix=scope_prefix,
            redirect_uris=callback_uris([self.web_origin] if self.web_origin else []),
        )
        self.server = GatewayServer(
            ("127.0.0.1", args.port),
            gateway,
            {f"{ISSUER_PATH}/.well-known/jwks.json": jwks_response},
            [signin_handler(signin, frozenset([self.web_origin]))],
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        root = f"http://127.0.0.1:{self.server.server_address[1]}"
        url = root if args.custom_domain else f"{root}/{stack.stage}"
        self.web_url = self.start_site(Path(args.template), url, scope_prefix) if self.web_origin else ""
        return url

    def start_site(self, template: Path, api_url: str, scope_prefix: str) -> str:
        """The web app as its distribution serves it, if the template has one and it is built."""
        issuer = issuer_url(self.args.port)
        api_origin = "{0.scheme}://{0.netloc}".format(urlsplit(api_url))
        # Without a custom domain the cloud's header allows every execute-api host of the
        # region (a cycle keeps it from naming the API); its loopback likeness is any port.
        # index.html's CSP meta names exactly this API (ops/site_csp.py), as in the cloud.
        header_api = api_origin if self.args.custom_domain else "http://127.0.0.1:*"
        distribution = web_distribution(template, header_api, api_origin)
        if distribution is None:
            return ""
        if not (WEB_DIST / "index.html").is_file():
            self.stack.notes.append("web: web/dist is not built (make web-build): no web app")
            return ""
        config = {
            "apiUrl": api_url,
            "authority": issuer,
            "clientId": AUDIENCE,
            "scopes": " ".join(s if s == "openid" else scope_prefix + s for s in WEB_SCOPES.split()),
            "scopePrefix": scope_prefix,
            "signOutUrl": "",
            "revokeUrl": f"{issuer}/revoke",
            # The twin's WebSocket API (empty: live updates off), as make web-publish
            # writes the stack's WebSocketUrl output.
            "wsUrl": self.live.ws_url,
        }
        self.stack.notes.append(
            "web: CloudFront is a loopback server of web/dist with the template's routes function and "
            f"headers policy, its CSP naming {header_api} as API and the twin ({api_origin}) as issuer, "
            "without upgrade-insecure-requests (no TLS here), the region's wss: WebSocket APIs as "
            f"ws://127.0.0.1:*; index.html's CSP meta connects only to {api_origin}"
            + (f" and {self.live.ws_url.rsplit('/', 1)[0]} (wsUrl)" if self.live.ws_url else "")
        )
        self.site = serve_site(WEB_DIST, distribution, config, port=self.args.web_port)
        origin, _ = self.site.__enter__()
        return f"{origin}/"

    def stop(self) -> None:
        if self.site is not None:
            self.site.__exit__(None, None, None)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.live.stop()
        for service in self.services.values():
            service.stop()
        if self.dynamo is not None:
            self.dynamo.stop()


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server, one line per call
    twin = Twin(args)
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        url = twin.start()
        stack = twin.stack
        function = next(iter(stack.functions.values()))
        print(
            f"twin: stack {stack.name}, stage {stack.stage}, from {args.template} (SAM transform)", flush=True
        )
        print(
            f"twin: function {function.name}: {function.handler}, {function.runtime}, "
            f"{function.memory_mb} MB, timeout {function.timeout_s} s; "
            f"throttling burst {stack.burst_limit}, rate {stack.rate_limit}/s",
            flush=True,
        )
        for other in list(stack.functions.values())[1:]:
            print(
                f"twin: function {other.name}: {other.handler}, {other.runtime}, {other.memory_mb} MB, "
                f"timeout {other.timeout_s} s",
                flush=True,
            )
        for note in stack.notes:
            print(f"twin: substituted {note}", flush=True)
        print(f"twin: serving {url}/  (docs: {url}/docs)", flush=True)
        if twin.web_url:
            print(f"twin: web app at {twin.web_url}  (sign in with any name and role)", flush=True)
        print(
            'twin: a token: make cloud-token SUB=alice SCOPE="orders:read orders:write" [GROUP=staff]',
            flush=True,
        )
        while not stopping.wait(0.5):
            pass
        print("twin: stopping", flush=True)
        return 0
    finally:
        twin.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the stack as deployed")
    run.add_argument("--config-env", default="default", help="samconfig.toml environment (default: default)")
    run.add_argument("--template", default=str(ROOT / "template.yaml"))
    run.add_argument("--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE")
    run.add_argument("--port", type=int, default=int(os.environ.get("CLOUD_PORT", "3000")))
    run.add_argument("--artifact", help="the function's sam build output (ARTIFACTS_DIR)")
    run.add_argument("--runtime-venv", default=str(ROOT / ".venv-lambda"))
    run.add_argument("--max-workers", type=int, default=4, help="concurrent execution environments")
    run.add_argument(
        "--custom-domain",
        help="serve requests as through this custom domain (ApiDomainName): no stage in the path",
    )
    run.add_argument(
        "--web-port",
        type=int,
        default=int(os.environ.get("CLOUD_WEB_PORT", "3001")),
        help="the web app's port (0: no web app)",
    )
    run.add_argument(
        "--ws-port",
        type=int,
        default=int(os.environ.get("CLOUD_WS_PORT", "3002")),
        help="the WebSocket API's port (0: off)",
    )
    token = commands.add_parser("token", help="mint a token the running twin accepts")
    token.add_argument("--sub", default="alice")
    token.add_argument("--scope", default="orders:read orders:write")
    token.add_argument("--ttl", type=int, default=3600)
    token.add_argument("--group", action="append", default=[], help="staff or chef (cognito:groups)")
    args = parser.parse_args(argv)
    if args.command == "token":
        print(mint(args.sub, args.scope, args.ttl, args.group))
        return 0
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    return serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
