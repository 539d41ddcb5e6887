"""`make deploy`'s web upload (ops/deploy.py) against moto's server on loopback: a stack
with the real output names, the site bucket and a distribution; keys, content types and
cache headers as a browser and CloudFront need them; a re-deploy removes what is stale."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.deploy.moto_aws import moto_aws, run_against
from tests.deploy.stack import ROOT
from tests.deploy.test_site_csp import csp_metas, head_of

STACK = "serverless-api-dev"  # samconfig.toml's default environment
IMMUTABLE = "public, max-age=31536000, immutable"
WEB_CONFIG = {
    "apiUrl": "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev",
    "authority": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Te5tPoo1",
    "clientId": "2webclient000000000000000b",
    "scopes": "openid email orders-api/orders:read orders-api/orders:write",
    "scopePrefix": "orders-api/",
    "signOutUrl": "https://pool.auth.us-east-1.amazoncognito.com/logout?client_id=2webclient000000000000000b",
    "revokeUrl": "https://pool.auth.us-east-1.amazoncognito.com/oauth2/revoke",
}
WS_URL = "wss://w5s0ck3t1d.execute-api.us-east-1.amazonaws.com/dev"  # live orders
INDEX = "<!doctype html><html><head><title>t</title></head></html>"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # A moto server of its own, not the session's `dynamodb_url`: that one may be
    # DynamoDB Local (APP_TEST_DYNAMODB_ENDPOINT_URL), which speaks no CloudFormation,
    # S3 or CloudFront, and this module's stack and bucket are its own.
    with moto_aws() as (endpoint, session):
        yield from _stack(endpoint, session)


def _stack(endpoint: str, session: boto3.session.Session) -> Iterator[dict[str, Any]]:
    cloudfront = session.client("cloudfront", endpoint_url=endpoint)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "web",
            "Comment": "web",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": "site.s3.amazonaws.com",
                                                  "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                     "MinTTL": 0, "ForwardedValues": {"QueryString": False,
                                                                      "Cookies": {"Forward": "none"}},
                                     "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        }
    )["Distribution"]  # fmt: skip
    template = {
        "Resources": {"SiteBucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {
            "ApiUrl": {"Value": "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev"},
            "WebBucketName": {"Value": {"Ref": "SiteBucket"}},
            "WebDistributionId": {"Value": distribution["Id"]},
            "WebUrl": {"Value": f"https://{distribution['DomainName']}"},
            "WebClientId": {"Value": "2webclient000000000000000b"},
            "AuthIssuer": {"Value": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Te5tPoo1"},
            "AuthAuthorizeEndpoint": {
                "Value": "https://pool.auth.us-east-1.amazoncognito.com/oauth2/authorize"
            },
            "WebConfig": {"Value": json.dumps(WEB_CONFIG)},
            "WebSocketUrl": {"Value": WS_URL},
        },
    }
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    # moto's backends live in the process, not the server: test_users.py's stack of
    # the same name may still be there.
    cloudformation.delete_stack(StackName=STACK)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    }
    yield {
        "endpoint": endpoint,
        "outputs": outputs,
        "s3": session.client("s3", endpoint_url=endpoint),
        "cloudfront": cloudfront,
    }


def build(site: Path, files: dict[str, str], *, public: tuple[str, ...] | None = None) -> Path:
    """A build as `vite build` leaves it: the files, and a manifest naming the entry's
    chunk, CSS and assets (every file under assets/). The public directory, a sibling
    of the build here, holds `public`'s names (by default the build's top-level files
    but index.html, as Vite copies them)."""
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    assets = sorted(name for name in files if name.startswith("assets/"))
    scripts = [name for name in assets if name.endswith(".js")]
    entry = {
        "file": scripts[0] if scripts else "assets/index-Missing0.js",
        "src": "index.html",
        "isEntry": True,
        "css": [name for name in assets if name.endswith(".css")],
        "assets": [name for name in assets if not name.endswith((".js", ".css"))],
    }
    manifest = {"index.html": entry, **{f"_{name}": {"file": name} for name in scripts[1:]}}
    (site / ".vite").mkdir(parents=True, exist_ok=True)
    (site / ".vite" / "manifest.json").write_text(json.dumps(manifest))
    if public is None:
        public = tuple(name for name in files if "/" not in name and name != "index.html")
    (site.parent / "public").mkdir(exist_ok=True)
    for name in public:
        (site.parent / "public" / name).write_text(files.get(name, "public"))
    return site


def publish(aws: dict[str, Any], site: Path, *extra: str, status: int = 0) -> str:
    command = [sys.executable, "-m", "ops.deploy", "--env", "default", "--publish-only", "--no-smoke"]
    command += ["--site", str(site), "--public", str(site.parent / "public"), *extra]
    return run_against(aws["endpoint"], command, status)


def objects(aws: dict[str, Any]) -> dict[str, dict[str, Any]]:
    s3, bucket = aws["s3"], aws["outputs"]["WebBucketName"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key) for key in keys}


def test_publish_uploads_with_types_and_cache_headers_then_removes_stale_files(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    first = build(tmp_path / "v1" / "dist", {
        "index.html": "<!doctype html><head><script type=module src=/assets/index-AbCdEf12.js></script>",
        "assets/index-AbCdEf12.js": "console.log(1)",
        "assets/index-Zz9Yy8Xx.css": "body{}",
        "favicon.svg": "<svg/>",
        "config.json": '{"apiUrl": "http://127.0.0.1:8000"}',  # the local one: never uploaded
    })  # fmt: skip
    out = publish(aws, first)
    assert "4 files" not in out  # config.json is added to the build
    assert "5 files to s3://" in out
    stored = objects(aws)
    first_keys = {
        "index.html",
        "config.json",
        "assets/index-AbCdEf12.js",
        "assets/index-Zz9Yy8Xx.css",
        "favicon.svg",
    }
    assert set(stored) == first_keys
    expect = {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "config.json": ("application/json; charset=utf-8", "no-cache"),
        "assets/index-AbCdEf12.js": (
            "application/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        "assets/index-Zz9Yy8Xx.css": ("text/css; charset=utf-8", "public, max-age=31536000, immutable"),
        "favicon.svg": ("image/svg+xml", "no-cache"),
    }
    for key, (content_type, cache) in expect.items():
        assert stored[key]["ContentType"] == content_type, key
        assert stored[key]["CacheControl"] == cache, key
    config = json.loads(stored["config.json"]["Body"].read())
    outputs = aws["outputs"]
    assert config == {**json.loads(outputs["WebConfig"]), "wsUrl": WS_URL}, (
        "the stack's config, never the local one"
    )
    assert config == {**WEB_CONFIG, "wsUrl": outputs["WebSocketUrl"]}
    # The names a deploy reuses are invalidated; content-hashed ones need not be.
    cloudfront, distribution = aws["cloudfront"], outputs["WebDistributionId"]
    (listed,) = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    paths = cloudfront.get_invalidation(DistributionId=distribution, Id=listed["Id"])["Invalidation"][
        "InvalidationBatch"
    ]["Paths"]["Items"]
    assert sorted(paths) == ["/", "/config.json", "/favicon.svg", "/index.html"]

    # The next build names a new bundle: the old one goes, nothing else is left behind.
    second = build(tmp_path / "v2" / "dist", {
        "index.html": "<!doctype html><head><script type=module src=/assets/index-NewHash9.js></script>",
        "assets/index-NewHash9.js": "console.log(2)",
        "assets/index-Zz9Yy8Xx.css": "body{}",
    })  # fmt: skip
    out = publish(aws, second)
    assert "2 stale removed" in out
    assert set(objects(aws)) == {
        "index.html",
        "config.json",
        "assets/index-NewHash9.js",
        "assets/index-Zz9Yy8Xx.css",
    }


def test_index_html_goes_up_last_and_config_just_before_it(tmp_path: Path) -> None:
    from ops.deploy import publish_site

    class Recorder:
        def __init__(self) -> None:
            self.keys: list[str] = []

        def put_object(self, **kwargs: Any) -> None:
            self.keys.append(kwargs["Key"])

        def get_paginator(self, _: str) -> Any:
            return type("P", (), {"paginate": lambda self, **_: [{}]})()

    site = build(tmp_path / "dist", {
        "index.html": INDEX,
        "assets/index-AbCdEf12.js": "1",
        "favicon.svg": "<svg/>",
        "config.json": "{}",
    })  # fmt: skip
    s3 = Recorder()
    publish_site(s3, "site", site, WEB_CONFIG, tmp_path / "public")
    assert s3.keys == ["assets/index-AbCdEf12.js", "favicon.svg", "config.json", "index.html"]


def test_a_config_file_replaces_the_output_and_an_incomplete_one_is_refused(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    site = build(tmp_path / "site" / "dist", {"index.html": INDEX, "assets/index-AbCdEf12.js": "1"})
    external = {**WEB_CONFIG, "authority": "https://issuer.example.com/"}
    (tmp_path / "external.json").write_text(json.dumps(external))
    publish(aws, site, "--config", str(tmp_path / "external.json"))
    stored = objects(aws)
    assert json.loads(stored["config.json"]["Body"].read()) == {**external, "wsUrl": WS_URL}
    # A file's own wsUrl wins; an empty one turns live updates off (and leaves the CSP alone).
    (tmp_path / "quiet.json").write_text(json.dumps({**external, "wsUrl": ""}))
    publish(aws, site, "--config", str(tmp_path / "quiet.json"))
    stored = objects(aws)
    assert json.loads(stored["config.json"]["Body"].read())["wsUrl"] == ""
    assert "wss:" not in csp_metas(stored["index.html"]["Body"].read().decode())[0]

    (tmp_path / "partial.json").write_text(json.dumps({"clientId": "x"}))
    before = {key: item["ETag"] for key, item in objects(aws).items()}
    out = publish(aws, site, "--config", str(tmp_path / "partial.json"), status=1)
    assert "lacks apiUrl, authority, scopePrefix, scopes" in out
    assert {key: item["ETag"] for key, item in objects(aws).items()} == before, "nothing half-written"


def test_the_uploaded_page_connects_only_to_this_stacks_api_and_issuer(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    # The header's connect-src allows every execute-api host of the region (a cycle
    # keeps the template from naming the API); the page's own meta names this one.
    source = (ROOT / "web" / "index.html").read_text()
    site = build(tmp_path / "dist", {"index.html": source, "assets/index-AbCdEf12.js": "1"})
    publish(aws, site)
    page = objects(aws)["index.html"]["Body"].read().decode()
    assert csp_metas(page) == [
        "connect-src 'self' https://abc123defg.execute-api.us-east-1.amazonaws.com "
        "https://cognito-idp.us-east-1.amazonaws.com https://pool.auth.us-east-1.amazoncognito.com "
        "wss://w5s0ck3t1d.execute-api.us-east-1.amazonaws.com"
    ]
    assert head_of(page)[0][1].get("http-equiv") == "Content-Security-Policy", "first in <head>"
    assert "*" not in csp_metas(page)[0]
    assert (site / "index.html").read_text() == source, "the build itself is left as it was"


@pytest.mark.parametrize("api", ["http://api.example.com", "http://127.0.0.1:8000"])
def test_a_config_naming_a_plain_http_api_stops_the_deploy_before_any_upload(
    aws: dict[str, Any], tmp_path: Path, api: str
) -> None:
    # Loopback http is the twin's; the cloud's page never calls it (a local config.json).
    site = build(tmp_path / "dist", {"index.html": INDEX, "assets/index-AbCdEf12.js": "1"})
    publish(aws, site)
    before = {key: item["ETag"] for key, item in objects(aws).items()}
    (tmp_path / "http.json").write_text(json.dumps({**WEB_CONFIG, "apiUrl": f"{api}/dev"}))
    out = publish(aws, site, "--config", str(tmp_path / "http.json"), status=1)
    assert f"index.html's CSP: not a plain https origin: '{api}'" in out
    assert {key: item["ETag"] for key, item in objects(aws).items()} == before, "nothing uploaded"


@pytest.mark.parametrize(
    ("stray", "why"),
    [
        ("assets/index-AbCdEf12.js.map", "a source map hands out the source"),
        (".env", "a dotfile"),
        ("assets/.DS_Store", "a dotfile in a directory"),
        ("notes/draft.html", "a file no manifest names"),
    ],
)
def test_a_file_the_manifest_does_not_name_stops_the_deploy_before_any_upload(
    aws: dict[str, Any], tmp_path: Path, stray: str, why: str
) -> None:
    site = build(tmp_path / "dist", {
        "index.html": INDEX,
        "assets/index-AbCdEf12.js": "console.log(1)",
        "favicon.svg": "<svg/>",
    })  # fmt: skip
    publish(aws, site)
    before = {key: item["ETag"] for key, item in objects(aws).items()}
    (site / stray).parent.mkdir(parents=True, exist_ok=True)
    (site / stray).write_text("secret")
    (site / "index.html").write_text(INDEX + "<p>new")
    out = publish(aws, site, status=1)
    assert f"holds files its manifest does not name: {stray}" in out, why
    assert {key: item["ETag"] for key, item in objects(aws).items()} == before, "nothing uploaded"
    assert ".vite/manifest.json" not in before, "the manifest is read, never uploaded"


def test_a_build_without_a_manifest_or_missing_a_named_file_is_refused(tmp_path: Path) -> None:
    from ops.deploy import plan_upload

    site = build(tmp_path / "dist", {"index.html": INDEX, "assets/index-AbCdEf12.js": "1"})
    (site / "assets" / "index-AbCdEf12.js").unlink()
    with pytest.raises(SystemExit, match=r"names files the build lacks: assets/index-AbCdEf12\.js"):
        plan_upload(site, tmp_path / "public")
    (site / ".vite" / "manifest.json").unlink()
    with pytest.raises(SystemExit, match=r"manifest\.json is missing"):
        plan_upload(site, tmp_path / "public")


@pytest.mark.parametrize("name", [".htaccess", "legacy.js.map"])
def test_a_dotfile_or_source_map_is_refused_even_from_the_public_directory(tmp_path: Path, name: str) -> None:
    from ops.deploy import plan_upload

    site = build(tmp_path / "dist", {"index.html": INDEX, name: "x"})
    assert (tmp_path / "public" / name).is_file()  # Vite copied it: the public list names it
    with pytest.raises(SystemExit, match="does not name: " + re.escape(name)):
        plan_upload(site, tmp_path / "public")


def test_the_twins_site_serves_what_a_deploy_uploads_and_no_dotfile(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from ops.deploy import plan_upload
    from twin.cdn import serve_site, web_distribution

    site = build(tmp_path / "dist", {"index.html": INDEX, "assets/index-AbCdEf12.js": "1"})
    uploaded = {upload.key for upload in plan_upload(site, tmp_path / "public")}
    distribution = web_distribution(ROOT / "template.yaml", "http://127.0.0.1:1", "http://127.0.0.1:1")
    assert distribution is not None
    with serve_site(site, distribution, WEB_CONFIG) as (origin, _):
        for key in uploaded:
            assert urllib.request.urlopen(f"{origin}/{key}").status == 200, key
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{origin}/.vite/manifest.json")
        assert missing.value.code == 404, "the bucket has no manifest"
