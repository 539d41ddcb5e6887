"""The API guide's curl journey (docs/api.md) through `make cloud`: the built artifact, run as Lambda runs it,
behind the HTTP API twin, on the DynamoDB store."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import fastapi_offline
import httpx

from app.system.router import HELLO
from tests.twin.conftest import ARTIFACT, Twin, get


def test_hello_cold_then_warm(cloud: Twin) -> None:
    cloud.settle()
    before = len(cloud.reports())
    first = get(f"{cloud.url}/hello")
    second = get(f"{cloud.url}/hello")
    for response in (first, second):
        assert response.status_code == 200
        assert response.json() == {"message": HELLO}
        assert response.headers["apigw-requestid"]
        assert "server" not in response.headers
    assert first.headers["apigw-requestid"] != second.headers["apigw-requestid"]
    every = cloud.reports()
    reports = every[before:]
    assert len(reports) == 2
    # Each invocation's REPORT line: the container's first was cold (Init Duration),
    # and one request after another reuses the warm worker.
    assert every[0]["init"] is not None
    assert float(every[0]["init"] or 0) > 0
    assert reports[1]["init"] is None
    for report in reports:
        assert report["memory"] == "512"  # the template's MemorySize
        assert int(report["billed"] or 0) >= float(report["duration"] or 0)
        assert 20 < int(report["used"] or 0) < 512


def test_start_up_says_what_it_substituted(cloud: Twin) -> None:
    log = cloud.log()
    assert "stage dev" in log  # the default environment's stage, from samconfig.toml
    assert "app.main.handler, python3.13, 512 MB, timeout 10 s" in log
    assert "burst 20, rate 10.0/s" in log
    assert re.search(r"substituted identity: the stack's Cognito user pool", log)
    assert re.search(r"substituted data: DynamoDB is a local server at http://127\.0\.0\.1:\d+", log)


def test_docs_under_the_stage_and_a_binary_asset_byte_for_byte(cloud: Twin) -> None:
    docs = get(f"{cloud.url}/docs")
    assert docs.status_code == 200
    assert 'data-spec-url="/dev/openapi.json"' in docs.text
    assert get(f"{cloud.url}/openapi.json").json()["openapi"].startswith("3.1")
    favicon = get(f"{cloud.url}/docs/assets/favicon.png")
    assert favicon.status_code == 200
    assert favicon.headers["content-type"] == "image/png"
    expected = (Path(fastapi_offline.__file__).parent / "static" / "favicon.png").read_bytes()
    assert favicon.content == expected


def test_a_redirect_stays_under_the_stage(cloud: Twin) -> None:
    response = get(f"{cloud.url}/orders/", headers=cloud.bearer("alice", "orders:read"))
    assert response.status_code == 307
    assert urlsplit(response.headers["location"]).path == "/dev/orders"


def test_the_gateway_answers_what_no_route_or_stage_knows(cloud: Twin) -> None:
    for url in (
        f"{cloud.root}/",
        f"{cloud.root}/prod/hello",
        f"{cloud.root}/devx/hello",
        f"{cloud.root}/abc/hello",
    ):
        response = get(url)
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}
        assert response.headers["apigw-requestid"]
    # Under the stage every path reaches the function, whose own 404 is a problem.
    unknown = get(f"{cloud.url}/nothing", headers=cloud.bearer("alice", "orders:read"))
    assert unknown.headers["content-type"] == "application/problem+json"


def test_the_readme_journey_on_dynamodb(cloud: Twin) -> None:
    cloud.settle()
    # As the stack's user pool issues them: everyone has the web client's customer
    # scopes, and the chef and the cook their group (SPEC "Roles in the cloud").
    chef = cloud.bearer("chef", "orders:read orders:write", group="chef")
    alice = cloud.bearer("alice", "orders:read orders:write")
    staff = cloud.bearer("staff", "orders:read orders:write", group="staff")
    assert get(f"{cloud.url}/orders").status_code == 401

    put = httpx.put(
        f"{cloud.url}/menu/margherita",
        json={"name": "Margherita", "price_cents": 1150, "available": True},
        headers=chef,
        timeout=30,
    )
    assert put.status_code in (200, 201), put.text
    menu = get(f"{cloud.url}/menu")
    assert menu.status_code == 200
    assert {"id": "margherita", "name": "Margherita", "price_cents": 1150, "available": True} in menu.json()[
        "items"
    ]
    assert get(f"{cloud.url}/menu", headers={"If-None-Match": menu.headers["etag"]}).status_code == 304

    order = httpx.post(
        f"{cloud.url}/orders",
        json={"lines": [{"item_id": "margherita", "quantity": 2}]},
        headers={**alice, "Idempotency-Key": "twin-journey-1"},
        timeout=30,
    )
    assert order.status_code == 201, order.text
    assert order.headers["location"] == f"/dev/orders/{order.json()['id']}"
    assert order.json()["total_cents"] == 2300
    url = f"{cloud.url}/orders/{order.json()['id']}"
    read = get(url, headers=alice)
    assert read.status_code == 200
    assert read.headers["etag"] == '"v1"'
    assert get(url, headers={**alice, "If-None-Match": '"v1"'}).status_code == 304

    moved = httpx.patch(url, json={"status": "preparing"}, headers={**staff, "If-Match": '"v1"'}, timeout=30)
    assert moved.status_code == 200
    stale = httpx.patch(url, json={"status": "ready"}, headers={**staff, "If-Match": '"v1"'}, timeout=30)
    assert stale.status_code == 412

    # The data is in the template's table on the local DynamoDB server.
    endpoint = re.search(r"DynamoDB is a local server at (\S+)", cloud.log())
    assert endpoint
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint.group(1),
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    # The template's tables: the data and the WebSocket API's connections.
    tables = client.list_tables()["TableNames"]
    assert sorted(tables) == ["serverless-api-dev-ConnectionsTable-twin", "serverless-api-dev-DataTable-twin"]
    table = "serverless-api-dev-DataTable-twin"
    described = client.describe_table(TableName=table)["Table"]
    assert [index["IndexName"] for index in described["GlobalSecondaryIndexes"]] == ["GSI1"]
    assert client.scan(TableName=table)["Count"] >= 2


def test_the_twin_never_ships_in_the_artifact() -> None:
    shipped = {path.relative_to(ARTIFACT).parts[0] for path in ARTIFACT.rglob("*")}
    assert "twin" not in shipped
    assert "tests" not in shipped
    assert "app" in shipped
    # `sam package` zips this directory as it is: nothing of the twin's is in it.
    assert not list(ARTIFACT.rglob("twin*"))
