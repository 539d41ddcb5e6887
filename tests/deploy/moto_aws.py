"""A moto server of a test module's own on loopback, for what `make deploy` and
`make user` call through boto3 (CloudFormation, S3, CloudFront, Cognito)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# What a `make` run against the server gets in its environment (AWS_ENDPOINT_URL too).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@contextmanager
def moto_aws() -> Iterator[tuple[str, boto3.session.Session]]:
    """The server's endpoint and a session with test credentials. moto's state belongs to
    the process, not the server: what a module names, it must not expect to be unused."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        yield f"http://{host}:{port}", session
    finally:
        server.stop()


def run_against(endpoint: str, command: list[str], status: int = 0, drop: tuple[str, ...] = ()) -> str:
    """A command as an operator runs it, its AWS calls going to the server (the SDK's
    ``AWS_ENDPOINT_URL``); its output, after checking its exit status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", *drop))}
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**env, **CREDENTIALS, "AWS_ENDPOINT_URL": endpoint},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == status, result.stdout + result.stderr
    return result.stdout + result.stderr
