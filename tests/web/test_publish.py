"""Uploading the build to the site bucket (web/scripts/publish.py), against moto's S3."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("publish", ROOT / "web" / "scripts" / "publish.py")
assert _spec
assert _spec.loader
publish_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publish_module)

CONFIG = {
    "apiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/dev",
    "authority": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
    "clientId": "web",
    "scopes": "openid orders-api/orders:read",
    "scopePrefix": "orders-api/",
    "signOutUrl": "",
}


class Invalidations:
    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []

    def create_invalidation(self, DistributionId: str, InvalidationBatch: dict[str, Any]) -> None:
        self.batches.append({"id": DistributionId, **InvalidationBatch})


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="site")
        yield client


def build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!DOCTYPE html><script type=module src=/assets/index-abc.js></script>")
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    (dist / "assets" / "index-abc.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    (dist / "config.json").write_text('{"apiUrl": "http://127.0.0.1:8000"}')  # the local one: never uploaded
    return dist


def test_assets_are_immutable_index_and_config_revalidate_and_the_cdn_is_invalidated(
    s3: Any, tmp_path: Path
) -> None:
    cloudfront = Invalidations()
    count = publish_module.publish(build(tmp_path), "site", "E123", CONFIG, s3, cloudfront)
    assert count == 5
    head = {
        key: s3.head_object(Bucket="site", Key=key) for key in ("index.html", "config.json", "favicon.svg")
    }
    for key in ("assets/index-abc.js", "assets/index-abc.css"):
        head[key] = s3.head_object(Bucket="site", Key=key)
    assert head["assets/index-abc.js"]["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["assets/index-abc.js"]["ContentType"] == "text/javascript; charset=utf-8"
    assert head["assets/index-abc.css"]["ContentType"] == "text/css; charset=utf-8"
    assert head["index.html"]["CacheControl"] == "no-cache"
    assert head["index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert head["config.json"]["CacheControl"] == "no-cache"
    uploaded = json.loads(s3.get_object(Bucket="site", Key="config.json")["Body"].read())
    assert uploaded == CONFIG, "the stack's config, never the local one"
    assert cloudfront.batches[0]["id"] == "E123"
    assert cloudfront.batches[0]["Paths"] == {"Quantity": 1, "Items": ["/*"]}


def test_index_html_goes_up_last(tmp_path: Path) -> None:
    order = [key for _, key, _ in publish_module.plan(build(tmp_path))]
    assert order[-1] == "index.html"
    assert order.index("assets/index-abc.js") < order.index("favicon.svg")
    assert "config.json" not in order


def test_a_config_without_the_api_or_issuer_is_refused(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="apiUrl"):
        publish_module.publish(build(tmp_path), "site", "E1", {"clientId": "x"}, s3, Invalidations())
