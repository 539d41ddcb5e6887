"""A moto server of a test module's own on loopback, for what `make deploy` and
`make user` call through boto3 (CloudFormation, S3, CloudFront, Cognito)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer

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
