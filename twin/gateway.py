"""API Gateway's HTTP API, locally: routing, the payload 2.0 event and back, throttling,
and the gateway's own answers, each rule from the AWS page cited beside it.

lambda-gateway (PyPI) does the HTTP side for a handler imported in process, but
decodes every body as text, passes headers as they came, drops cookies and the
requestContext, and answers errors with its own bodies; what is here is what
none of it covers.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from twin.authorizer import Authorized, JwtAuthorizer, Unauthorized, www_authenticate
from twin.headers import unsafe_header
from twin.lambda_service import InvocationFailed, LambdaService
from twin.stack import ACCOUNT, REGION, Route, Stack

log = logging.getLogger("twin.gateway")

# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html:
# "Maximum payload size: 10 MB".
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# The same page: the integration timeout is at most 30 seconds.
INTEGRATION_TIMEOUT_S = 30.0

# The gateway's own bodies. Not found and throttling:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
# (429 {"message":"Too Many Requests"}); a Lambda error or a function timeout:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
# ({"message":"Internal Server Error"}); the integration timeout: 503 Service Unavailable.
NOT_FOUND = (404, {"message": "Not Found"})
TOO_MANY_REQUESTS = (429, {"message": "Too Many Requests"})
TOO_LARGE = (413, {"message": "Request Entity Too Large"})
INTERNAL_ERROR = (500, {"message": "Internal Server Error"})
UNAVAILABLE = (503, {"message": "Service Unavailable"})
UNAUTHORIZED = (401, {"message": "Unauthorized"})

# The methods an HTTP API route names (http-api-develop-routes.html: a route is a method
# or ANY and a path; ANY matches these methods). A request with any other method token
# (TRACE, CONNECT, an invented one) matches no route: the gateway's 404, never a 501.
ROUTABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"})

# Bodies API Gateway passes as text; anything else reaches the function base64-encoded
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html:
# isBase64Encoded). The twin treats these types, when their bytes are UTF-8, as text.
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded|graphql))$"
)


class TokenBucket:
    """Stage throttling: a bucket of ``burst`` tokens refilled at ``rate`` per second
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html,
    "API Gateway throttles requests to your API using the token bucket algorithm")."""

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(burst)
        self.rate = rate
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


def _match(route_path: str, path: str) -> dict[str, str] | None:
    """Path parameters if the route's path matches (``{proxy+}`` is greedy, one or more segments)."""
    pattern = "^"
    for part in route_path.strip("/").split("/") if route_path != "/" else []:
        if part.endswith("+}"):
            pattern += "/(?P<" + part[1:-2] + ">.+)"
        elif part.startswith("{"):
            pattern += "/(?P<" + part[1:-1] + ">[^/]+)"
        else:
            pattern += "/" + re.escape(part)
    pattern += "/?$" if route_path == "/" else "$"
    match = re.match(pattern, path)
    return match.groupdict() if match else None


def select_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The most specific route for a request
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html,
    "Routing API requests": exact paths first, then greedy ones; a method over ANY)."""
    candidates = []
    for route in routes:
        if route.method not in ("ANY", method):
            continue
        parameters = _match(route.path, path)
        if parameters is None:
            continue
        greedy = "+}" in route.path
        candidates.append(
            ((greedy, route.path.count("{"), route.method == "ANY", -len(route.path)), route, parameters)
        )
    if not candidates:
        return None
    _, route, parameters = min(candidates, key=lambda c: c[0])
    return route, parameters


def new_request_id() -> str:
    """An id shaped like API Gateway's: 16 base64 characters ending in "=", as in the
    ``apigw-requestid: Mc7UVioPPHcEKPA=`` of http-api-troubleshooting-jwt.html (11 bytes)."""
    return base64.b64encode(secrets.token_bytes(11)).decode()


def header(request: Request, name: str) -> str | None:
    values = [value for key, value in request.headers if key.lower() == name]
    return ",".join(values) if values else None


def build_event(
    request: Request,
    stack: Stack,
    route: Route,
    path_parameters: dict[str, str],
    authorized: Authorized | None = None,
    custom_domain: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event, as
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
    documents it: header names lower-cased, repeated headers joined with commas,
    cookies taken out of the headers into ``cookies``, repeated query parameters
    joined with commas, rawPath with the stage, a binary body base64-encoded."""
    raw_path, _, raw_query = request.target.partition("?")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    # The twin stands in for the API's default endpoint, where the stage is part of
    # the URL: requestContext names that endpoint's domain (the Host header stays as
    # the client sent it), as it does for https://{api-id}.execute-api.{region}.amazonaws.com.
    # Behind a custom domain mapped at its root, the domain is the client's and the
    # path has no stage (http-api-custom-domain-names.html, API mappings).
    domain = custom_domain or f"{stack.api_id}.execute-api.{REGION}.amazonaws.com"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": stack.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            # The one id of the request: the apigw-requestid header and the access log's
            # $context.requestId carry the same value (Gateway.handle).
            "requestId": request_id or new_request_id(),
            "routeKey": route.route_key,
            "stage": stack.stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorized is not None:
        # http-api-jwt-authorizer.html: the claims (as strings) and the route's scopes.
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": authorized.claims, "scopes": authorized.scopes}
        }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = {name: unquote(value) for name, value in path_parameters.items()}
    if request.body:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            text = request.body.decode("utf-8") if _TEXT_TYPES.match(content_type) else None
        except UnicodeDecodeError:
            text = None
        if text is None:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _gateway_answer(
    answer: tuple[int, dict[str, str]], extra: list[tuple[str, str]] | None = None
) -> Response:
    status, payload = answer
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, [("Content-Type", "application/json"), *(extra or [])], body)


def map_response(result: Any) -> Response:
    """The function's answer as HTTP, by the 2.0 format's rules (the page above,
    "Lambda function response for format 2.0"): a dict with ``statusCode`` is used
    as it is (``cookies`` become ``Set-Cookie`` headers, a base64 body is decoded);
    anything else valid JSON is a 200 with ``application/json`` and that JSON as body."""
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return Response(200, [("Content-Type", "application/json")], text.encode())
    # Format 2.0 has no multiValueHeaders: a header's values come comma-joined.
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Response(int(result["statusCode"]), headers, body)


class Gateway:
    """Routes a request to a function the way the HTTP API's stage would."""

    def __init__(
        self,
        stack: Stack,
        services: dict[str, LambdaService],
        authorizer: JwtAuthorizer | None = None,
        custom_domain: str | None = None,
    ) -> None:
        self.stack = stack
        self.services = services
        self.authorizer = authorizer or JwtAuthorizer()
        self.custom_domain = custom_domain
        burst, rate = stack.burst_limit, stack.rate_limit
        self.bucket = TokenBucket(burst, rate) if burst is not None and rate is not None else None

    def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        response = self._handle(request, request_id)
        # Every answer carries the gateway's request id (the header API Gateway adds),
        # the same id as the event's requestContext.requestId.
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _handle(self, request: Request, request_id: str) -> Response:
        path = request.target.partition("?")[0]
        if request.method not in ROUTABLE_METHODS:
            return _gateway_answer(NOT_FOUND)
        prefix = "" if self.custom_domain else f"/{self.stack.stage}"
        # A named stage is the first path segment; a path outside it has no route.
        if prefix and not (path == prefix or path.startswith(prefix + "/")):
            return _gateway_answer(NOT_FOUND)
        route_path = path[len(prefix) :] or "/"
        selected = select_route(self.stack.routes, request.method, route_path)
        if selected is None:
            return _gateway_answer(NOT_FOUND)
        route, parameters = selected
        if self.bucket is not None and not self.bucket.take():
            return _gateway_answer(TOO_MANY_REQUESTS)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return _gateway_answer(TOO_LARGE)
        authorized = None
        if route.authorizer is not None:
            try:
                authorized = self.authorizer.check(header(request, "authorization"), route.authorizer)
            except Unauthorized as refusal:
                log.info("authorizer refused %s %s: %s", request.method, path, refusal or "no token")
                challenge = www_authenticate(str(refusal), route.authorizer)
                return _gateway_answer(UNAUTHORIZED, [("www-authenticate", challenge)])
        event = build_event(
            request, self.stack, route, parameters, authorized, self.custom_domain, request_id=request_id
        )
        service = self.services[route.function]
        try:
            result = service.invoke(event, wait_s=INTEGRATION_TIMEOUT_S)
        except InvocationFailed as failure:
            log.warning("integration failed: %s (%s)", failure.kind, failure)
            if failure.kind == "throttled":
                return _gateway_answer(UNAVAILABLE)
            return _gateway_answer(INTERNAL_ERROR)
        try:
            return map_response(result)
        except (KeyError, TypeError, ValueError) as error:
            log.warning("malformed Lambda response: %s", error)
            return _gateway_answer(INTERNAL_ERROR)


def sendable(response: Response) -> Response:
    """The response, or the gateway's 500 in its place when a header would split the
    response (a function's, the issuer's, or the twin's own): the twin writes no header
    it has not checked, wherever the text came from. The request id stays."""
    name = unsafe_header(response.headers)
    if name is None:
        return response
    log.warning("refused to send a response: header %r has a control character or a bad name", name)
    kept = [(k, v) for k, v in response.headers if k == "apigw-requestid" and unsafe_header([(k, v)]) is None]
    return _gateway_answer(INTERNAL_ERROR, kept)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler answers a method it has no do_<METHOD> for with its own
        # HTML 501; every method token reaches _serve, and the gateway answers it.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            response = _gateway_answer(TOO_LARGE)
            response.headers.append(("Connection", "close"))
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            extra = self.server.extra_routes.get(self.path.partition("?")[0])
            response = extra() if extra else self.server.local_answer(request)
        response = sendable(response)
        # No Server header (API Gateway sends none of its own), one Date.
        self.send_response_only(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                self.send_header(name, value)
        if "date" not in names:
            self.send_header("Date", formatdate(usegmt=True))
        body = b"" if self.command == "HEAD" else response.body
        self.send_header("Content-Length", str(len(response.body) if self.command == "HEAD" else len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.log_request_line(self, response)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    # API Gateway takes every connection a crowd opens at once. socketserver's listen
    # backlog is 5: with two dozen clients connecting together the queue overflowed
    # (ListenOverflows in /proc/net/netstat) and a handshake completed by a SYN cookie
    # was reset on both sides, a failure the cloud would never show (tests/twin/test_load.py).
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        gateway: Gateway,
        extra_routes: dict[str, Callable[[], Response]],
        handlers: Sequence[Callable[[Request], Response | None]] = (),
    ) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway
        self.extra_routes = extra_routes
        # The twin's own services beside the API (its issuer's sign-in): each answers
        # the requests it knows, or None to pass them on to the gateway.
        self.handlers = tuple(handlers)

    def local_answer(self, request: Request) -> Response:
        for handler in self.handlers:
            response = handler(request)
            if response is not None:
                return response
        return self.gateway.handle(request)

    def log_request_line(self, handler: _Handler, response: Response) -> None:
        # The access log's line, with the request id a client sees (apigw-requestid).
        request_id = next((v for k, v in response.headers if k == "apigw-requestid"), "-")
        log.info("%s %s %s %s", handler.command, handler.path.partition("?")[0], response.status, request_id)
