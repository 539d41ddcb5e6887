"""The container's one DynamoDB client, shared by the store and the rate limiter.

One SDK session, one client, one connection pool: the SDK's import, its
service model, credentials and endpoint resolution are paid once per container
and every call reuses the same kept-alive connections. On Lambda the client is
built at init (``app.main`` imports this module when ``APP_STORE=dynamodb``),
never at the first request; with the SQLite store nothing here is imported.

The configuration is the store's (it was before the client was shared).
Without it botocore waits 60 s for a read and retries DynamoDB calls 10 times
(its legacy mode); API Gateway gives up after 30 s. Three attempts of at most
1 + 2 s, with jittered backoff, stay under it. ``total_max_attempts`` counts
calls; botocore's ``max_attempts`` counts retries after the first call.

The rate limiter's ``UpdateItem`` (the only ``UpdateItem`` this app sends: the
store writes with ``PutItem`` and transactions) is never retried: a limiter
that cannot answer at once is skipped (fail open) rather than delaying the
request through backoff. A client has one timeout setting, so the limiter's
single attempt waits at most the client's connect and read timeouts.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final, cast

import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

READ_TIMEOUT_S: Final = 2
CLIENT_CONFIG: Final = Config(
    connect_timeout=1, read_timeout=READ_TIMEOUT_S, retries={"total_max_attempts": 3, "mode": "standard"}
)
# Operations sent once, whatever the retry policy says (the limiter's counter).
NOT_RETRIED: Final = ("UpdateItem",)


SERVICE: Final = "dynamodb"


class _OneServiceLoader(Loader):
    """botocore's data loader without one scan. Before it loads a model, the
    stock loader lists every service on disk (about 450 directories, once for
    the API model and again for the endpoint rules: about 30 ms of every cold
    start here) only to check that the name asked for is among them. The
    sessions of this module load DynamoDB's models and nothing else; a model
    that is missing still fails when it is read."""

    def list_available_services(self, type_name: str) -> list[str]:
        return [SERVICE]


def _session() -> botocore.session.Session:
    session = botocore.session.Session()
    # As botocore.loaders.create_loader does with AWS_DATA_PATH (extra model paths).
    data_path = session.get_config_variable("data_path") or ""
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep) if p]
    session.register_component("data_loader", _OneServiceLoader(extra_search_paths=extra))
    return session


def _never_retry(**kwargs: Any) -> bool:
    # botocore asks every needs-retry handler, most specific event first, and
    # retries only when the first answer that is not None is a delay: False is "no".
    return False


def new_client(endpoint_url: str | None = None, region: str | None = None) -> DynamoDBClient:
    """A DynamoDB client of its own botocore session (a default session is
    module state and not safe to build clients from in several threads at once).

    botocore's, not boto3's: the store and the limiter speak the low-level
    DynamoDB API, which is botocore's client either way (boto3 adds resources
    and S3 transfers, nothing for a DynamoDB client), and ``import boto3``
    costs a cold start its S3 transfer manager too (about 30-40 ms here).

    ``endpoint_url`` is the app's own override (``APP_DYNAMODB_ENDPOINT_URL``);
    without it the SDK resolves the endpoint as in the cloud, including its
    standard ``AWS_ENDPOINT_URL_DYNAMODB`` setting.
    """
    created = _session().create_client(
        SERVICE, region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG
    )
    client = cast("DynamoDBClient", created)
    for operation in NOT_RETRIED:
        client.meta.events.register_first(
            f"needs-retry.dynamodb.{operation}",
            _never_retry,  # type: ignore[arg-type]  # the stubs say None; botocore reads the answer
            unique_id=f"app-never-retry-{operation}",
        )
    return client
