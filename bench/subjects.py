"""The subjects' task directories, the events and the environment they run with.

This project's subject is the built artifact exactly as deployed: SAM's build
directory, zipped by SAM's own zip function (the one `sam package` and
`sam deploy` use, 1980 timestamps and all), unzipped into an empty directory
as Lambda does. The baselines get task directories of the same shape: their
distributions copied from .venv-bench (installed from requirements/bench.txt,
the deployed versions of FastAPI, Mangum, pydantic and Starlette), without
bytecode, plus their handler module; the "with bytecode" variants are then
compiled exactly as lambda-build.mk compiles the artifact.
"""

# ruff: noqa: S603 - every command here is this suite's own, with fixed arguments
from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.lambda_events.conftest import http_v2

ROOT = Path(__file__).resolve().parents[1]
BASELINES = Path(__file__).resolve().parent / "baselines"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
BUILD_ROOT = ROOT / ".aws-sam" / "bench"

ISSUER = "https://issuer.bench.invalid/pool"
AUDIENCE = "bench-client"
KID = "bench-rs256"
HELLO = {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}

# What a baseline's task directory holds: the distributions its requirements
# pull in (with their dependencies) and its handler modules.
BASELINE_DISTRIBUTIONS = {
    "fastapi": (["fastapi", "mangum"], ["hello_sync", "hello_async", "hello_async_logged", "orders_typical"]),
    "powertools": (["aws-lambda-powertools"], ["hello_powertools"]),
    "raw": ([], ["hello_raw"]),
}


def python313() -> Path:
    """The interpreter the Lambda runtime matches, found as the Makefile finds it
    (the base interpreter, not a virtual environment's)."""
    candidates = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    found = str(candidates[0]) if candidates else shutil.which("python3.13")
    if not found:
        raise SystemExit("python3.13 not found")
    return Path(found)


PY313 = python313()


def artifact(architecture: str) -> Path:
    """The SAM build of bench/bench.mk for this architecture."""
    path = BUILD_ROOT / architecture / "build" / "ApiFunction"
    if not (path / "app" / "main.py").is_file():
        raise SystemExit(f"no {architecture} build at {path}: run it through `make bench`")
    return path


def sam_zip(source: Path, base: Path) -> Path:
    """Zips ``source`` with SAM's own function; returns the zip."""
    code = (
        "import sys; from samcli.lib.package.utils import make_zip_with_lambda_permissions as z;"
        " print(z(sys.argv[1], sys.argv[2]))"
    )
    out = subprocess.run(
        [str(SAM_PYTHON), "-c", code, str(base), str(source)], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def unzip(archive: Path, task: Path) -> Path:
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(task)
    return task


def without_bytecode(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def compile_tree(path: Path) -> None:
    """Exactly as lambda-build.mk compiles the artifact."""
    subprocess.run(
        [str(PY313), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(path)],
        check=True,
    )


def closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions and everything they require (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [(name, "") for name in names]
    while pending:
        name, marker = pending.pop()
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if marker:  # for another Python or platform: pip left it out, and so does a build
                continue
            raise
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in found:
            continue
        found[key] = dist
        for line in dist.requires or []:
            requirement, _, marker = line.partition(";")
            if "extra ==" not in marker:
                pending.append(
                    (re.split(r"[\s<>=!~\[(]", requirement.strip(), maxsplit=1)[0], marker.strip())
                )
    return list(found.values())


def baseline_task(kind: str, dest: Path, *, compiled: bool) -> Path:
    """A baseline's task directory, as `sam build` would make it for a typical
    template: its distributions' files (no bytecode, no scripts) and its modules."""
    names, modules = BASELINE_DISTRIBUTIONS[kind]
    dest.mkdir(parents=True)
    for dist in closure(names):
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            target = dest / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(dist.locate_file(file))), target)
    for module in modules:
        shutil.copy2(BASELINES / f"{module}.py", dest / f"{module}.py")
    if compiled:
        compile_tree(dest)
    return dest


def lambda_runtime_root() -> Path:
    """The packages the python3.13 Lambda runtime supplies beside /var/task
    (awslambdaric, boto3 and what they need, at the runtime's versions:
    requirements/lambda-runtime.txt), as installed in .venv-lambda, bytecode
    included. On sys.path after the task root, as on Lambda."""
    found = sorted((ROOT / ".venv-lambda" / "lib").glob("python3.13/site-packages"))
    if not found or not (found[0] / "boto3").is_dir():
        raise SystemExit("bench: .venv-lambda is missing boto3: run `make .venv-lambda/.installed`")
    return found[0]


def snapshot(path: Path) -> list[str]:
    """Every path under a task directory: the same before and after a run, or the
    run wrote to what is read-only on Lambda."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# --- auth ----------------------------------------------------------------------


def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID, "alg": "RS256", "use": "sig"})


def write_jwks(key: RSAKey, path: Path) -> Path:
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return path


def token(key: RSAKey, scope: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "bench-customer",
        "scope": scope,
        "token_use": "access",
        "iat": now,
        "exp": now + 4 * 3600,
    }
    return jwt.encode({"alg": "RS256", "kid": KID, "typ": "JWT"}, claims, key)


# --- events ----------------------------------------------------------------------

# What API Gateway adds to every request on its way to the function.
GATEWAY_HEADERS = {
    "accept": "application/json",
    "accept-encoding": "gzip, deflate, br",
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
    "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678",
    "x-forwarded-for": "203.0.113.7",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
}
MENU = [("margherita", "Margherita", 1150), ("marinara", "Marinara", 950), ("diavola", "Diavola", 1350)]


def event(method: str, path: str, *, bearer: str | None = None, body: Any = None) -> dict[str, Any]:
    """A payload 2.0 event on the $default stage (the same for every subject:
    a baseline with Mangum's defaults would not strip a named stage)."""
    headers = dict(GATEWAY_HEADERS)
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(raw))
    return http_v2(method, path, headers=headers, body=raw)


def hello_event() -> dict[str, Any]:
    return event("GET", "/hello")


def app_events(bearer: str) -> dict[str, Any]:
    """The setup steps and timed routes for this project's warm and memory runs."""
    setup = [
        {
            "event": event(
                "PUT",
                f"/menu/{item}",
                bearer=bearer,
                body={"name": name, "price_cents": price, "available": True},
            ),
            "expect": 201,
        }
        for item, name, price in MENU
    ]
    order_body = {"lines": [{"item_id": "margherita", "quantity": 2}, {"item_id": "diavola", "quantity": 1}]}
    setup.append({"event": event("POST", "/orders", bearer=bearer, body=order_body), "expect": 201})
    routes = {
        "hello": {"event": hello_event(), "expect": 200},
        "menu": {"event": event("GET", "/menu"), "expect": 200},
        # The path is the Location of the order placed in the setup.
        "order": {
            "event": event("GET", "/orders/placeholder", bearer=bearer),
            "expect": 200,
            "path_from_location": True,
        },
        "post_order": {
            "event": event("POST", "/orders", bearer=bearer, body={**order_body, "note": "bench"}),
            "expect": 201,
        },
    }
    return {"setup": setup, "routes": routes}


# --- environments --------------------------------------------------------------------


def lambda_env(task: Path) -> dict[str, str]:
    """What the Lambda runtime sets for every function (no credentials: nothing
    here reaches AWS)."""
    return {
        "PATH": f"{PY313.parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def app_env(task: Path, jwks: Path, sqlite: Path) -> dict[str, str]:
    """The function's environment as the template sets it, except for the store
    (SQLite in a temporary file instead of DynamoDB: no network here) and the rate
    limit (on, in memory, and high enough never to refuse: it is one of the
    middleware layers every request pays for)."""
    return {
        **lambda_env(task),
        "APP_STAGE": "bench",
        "APP_LOG_LEVEL": "INFO",
        "APP_CORS_ALLOW_ORIGINS": "https://app.example.com",
        "APP_AUTH_ISSUER": ISSUER,
        "APP_AUTH_AUDIENCE": AUDIENCE,
        "APP_AUTH_JWKS_FILE": str(jwks),
        "APP_AUTH_TOKEN_USE": "access",
        "APP_STORE": "sqlite",
        "APP_SQLITE_PATH": str(sqlite),
        "APP_RATE_LIMIT": "1000000/second",
    }


STAND_IN_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIABENCHSTANDIN",
    "AWS_SECRET_ACCESS_KEY": "bench-stand-in-secret",
    "AWS_SESSION_TOKEN": "bench-stand-in-token",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


def deployed_env(task: Path, *, jwks_url: str, table: str, endpoint: str) -> dict[str, str]:
    """This project as the template deploys it: the DynamoDB store and the
    DynamoDB rate limiter (on, high enough never to refuse: one UpdateItem per
    request), keys from a JWKS URL over HTTP, and the table's endpoint through
    the SDK's standard AWS_ENDPOINT_URL_DYNAMODB, so the code path is the
    cloud's (no APP_DYNAMODB_ENDPOINT_URL: nothing creates a table)."""
    return {
        **lambda_env(task),
        **STAND_IN_CREDENTIALS,
        "APP_STAGE": "bench",
        "APP_LOG_LEVEL": "INFO",
        "APP_CORS_ALLOW_ORIGINS": "https://app.example.com",
        "APP_AUTH_ISSUER": ISSUER,
        "APP_AUTH_AUDIENCE": AUDIENCE,
        "APP_AUTH_JWKS_URL": jwks_url,
        "APP_AUTH_TOKEN_USE": "access",
        "APP_STORE": "dynamodb",
        "APP_DYNAMODB_TABLE": table,
        "APP_RATE_LIMIT": "1000000/second",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
    }


def typical_deployed_env(task: Path, *, table: str, endpoint: str) -> dict[str, str]:
    """The typical DynamoDB app's environment: its table, the same endpoint setting."""
    return {
        **lambda_env(task),
        **STAND_IN_CREDENTIALS,
        "TABLE_NAME": table,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
    }


# -I: no user site, no PYTHON* variables, no script directory on the path;
# -S: no site-packages; -B: write no bytecode, so a tree without it compiles every
# module on every start, as on a read-only /var/task (-B does not stop reading
# the bytecode a tree ships).
PYTHON_FLAGS = ("-I", "-S", "-B")


def describe_interpreter() -> str:
    out = subprocess.run(
        [
            str(PY313),
            "-I",
            "-S",
            "-c",
            "import sys, platform; print(sys.version.split()[0], platform.machine())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"python {out.stdout.strip()} ({sys.platform})"
