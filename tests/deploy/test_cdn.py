"""The optional edge cache (EnableCdn): CloudFront in front of the API, checked against
the app where the template mirrors it (the menu's Cache-Control, the public prefix the
app derives from the request).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from app.aws_lambda.stage import public_paths
from app.menu import router as menu_router
from tests.deploy.stack import CDN_DOMAIN, STAND_IN_IDS, Stack, http_api_event, load_template

pytestmark = pytest.mark.deploy


CLOUDFRONT = "AWS::CloudFront::"
# AWS managed policies, by the ids CloudFront documents for CloudFormation.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
# The statuses CloudFront caches by default (for 10 seconds) when the origin says nothing.
CACHED_ERROR_STATUSES = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
API_HOST = f"{STAND_IN_IDS['HttpApi']}.execute-api.us-east-1.amazonaws.com"


def cloudfront_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The API's optional edge cache; the web app's own distribution (Web*) is tests/deploy/test_web.py's."""
    return {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"].startswith(CLOUDFRONT) and not k.startswith("Web")
    }


def menu_max_age() -> int:
    match = re.search(r"\bmax-age=(\d+)", menu_router.PUBLIC_CACHE)
    assert match, menu_router.PUBLIC_CACHE
    assert "public" in menu_router.PUBLIC_CACHE
    return int(match.group(1))


def behaviour_for(config: dict[str, Any], path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks for a viewer path: the first path pattern
    that matches (* any characters, ? one), else the default."""
    for behaviour in config.get("CacheBehaviors", []):
        if fnmatch.fnmatchcase(path, "/" + behaviour["PathPattern"].lstrip("/")):
            return behaviour
    return config["DefaultCacheBehavior"]


def test_cdn_is_off_by_default() -> None:
    template = load_template()
    parameter = template["Parameters"]["EnableCdn"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("false", ["false", "true"])
    resources = cloudfront_resources(template)
    assert {r["Type"] for r in resources.values()} == {
        f"{CLOUDFRONT}Distribution",
        f"{CLOUDFRONT}CachePolicy",
    }
    stack = Stack(template)
    assert not any(stack.exists(logical_id) for logical_id in resources)
    assert not {"CdnUrl", "CdnDistributionId"} & set(stack.outputs())


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdn_caches_public_menu_reads_and_passes_everything_else_through(stage: str) -> None:
    template = load_template()
    stack = Stack(template, {"EnableCdn": "true", "Stage": stage})
    assert all(stack.exists(logical_id) for logical_id in cloudfront_resources(template))
    config = stack.properties("Cdn")["DistributionConfig"]
    assert config["Enabled"] is True

    # One origin, the API, over HTTPS only; no OriginPath (see the next test).
    (origin,) = config["Origins"]
    assert origin["DomainName"] == API_HOST
    assert "OriginPath" not in origin
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]

    behaviours = [*config["CacheBehaviors"], config["DefaultCacheBehavior"]]
    assert len(behaviours) == 2
    for behaviour in behaviours:
        assert behaviour["TargetOriginId"] == origin["Id"]
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        # Writes and CORS preflights pass everywhere; only GET and HEAD may be cached.
        assert set(behaviour["AllowedMethods"]) == ALL_METHODS
        assert set(behaviour["CachedMethods"]) == {"GET", "HEAD"}
        # Every viewer header but Host reaches the API (Origin, Access-Control-Request-*,
        # Content-Type, If-Match...); API Gateway must see its own host name.
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert "ForwardedValues" not in behaviour  # legacy settings

    # The menu: the collection and every item, nothing else.
    menu = behaviour_for(config, f"/{stage}/menu")
    assert menu is config["CacheBehaviors"][0]
    assert behaviour_for(config, f"/{stage}/menu/pizza-margherita") is menu
    for path in (f"/{stage}/orders", f"/{stage}/orders/abc", f"/{stage}/hello", f"/{stage}/docs", "/menu"):
        assert behaviour_for(config, path) is config["DefaultCacheBehavior"], path
    assert menu["CachePolicyId"] == STAND_IN_IDS["MenuCachePolicy"]
    assert menu["Compress"] is True
    policy = stack.properties("MenuCachePolicy")["CachePolicyConfig"]
    # Only what the app marks cacheable is cached (DefaultTTL 0: no Cache-Control, no
    # cache; MinTTL 0: private/no-store are honoured), for as long as it says, capped.
    assert policy["MinTTL"] == 0
    assert policy["DefaultTTL"] == 0
    assert menu_max_age() <= policy["MaxTTL"] <= 3600
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    # Origin because the app's CORS headers depend on it (Vary: Origin); Authorization
    # because the menu's writes need their token at the origin (see the next test).
    assert key["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    assert sorted(key["HeadersConfig"]["Headers"]) == ["Authorization", "Origin"]
    assert key["EnableAcceptEncodingGzip"] is True
    assert key["EnableAcceptEncodingBrotli"] is True

    # Everything else: not cached; with caching disabled the origin request policy
    # also forwards Authorization.
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == CACHING_DISABLED
    assert "PathPattern" not in default

    # No error is cached (CloudFront would keep a 404 or a 503 for 10 seconds).
    errors = {e["ErrorCode"]: e for e in config["CustomErrorResponses"]}
    assert set(errors) == CACHED_ERROR_STATUSES
    assert all(e == {"ErrorCode": code, "ErrorCachingMinTTL": 0} for code, e in errors.items())

    outputs = stack.outputs()
    assert outputs["CdnUrl"] == f"https://{CDN_DOMAIN}/{stage}"
    assert outputs["CdnDistributionId"] == STAND_IN_IDS["Cdn"]
    assert template["Outputs"]["CdnUrl"]["Condition"] == template["Resources"]["Cdn"]["Condition"]


WRITE_METHODS = {"PUT", "PATCH", "POST", "DELETE"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_writes_through_the_cdn_keep_their_token(stage: str) -> None:
    """Issue 11, defect 8. CloudFront forwards the viewer's Authorization header to the
    origin only when the behaviour's cache policy puts it in the cache key; an origin
    request policy cannot name it, and the managed AllViewer* policies forward it only
    with caching disabled (AWS, "Configure CloudFront to forward the Authorization
    header", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
    add-origin-custom-headers.html#add-origin-custom-headers-forward-authorization).
    So every behaviour that passes writes (PUT /menu/{id} needs menu:write) either
    does not cache or names Authorization in its cache key. Anonymous reads carry no
    Authorization, so they still share one cache entry."""
    template = load_template()
    stack = Stack(template, {"EnableCdn": "true", "Stage": stage})
    config = stack.properties("Cdn")["DistributionConfig"]
    policies = {
        STAND_IN_IDS[logical_id]: stack.properties(logical_id)["CachePolicyConfig"]
        for logical_id, resource in cloudfront_resources(template).items()
        if resource["Type"] == f"{CLOUDFRONT}CachePolicy"
    }
    for path in (f"/{stage}/menu", f"/{stage}/menu/margherita", f"/{stage}/orders"):
        behaviour = behaviour_for(config, path)
        assert set(behaviour["AllowedMethods"]) >= WRITE_METHODS, path
        if behaviour["CachePolicyId"] == CACHING_DISABLED:
            assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER, path
            continue
        headers = policies[behaviour["CachePolicyId"]]["ParametersInCacheKeyAndForwardedToOrigin"][
            "HeadersConfig"
        ]
        assert headers["HeaderBehavior"] == "whitelist", path
        assert "authorization" in {name.lower() for name in headers["Headers"]}, path


def test_cdn_urls_are_the_ones_the_app_advertises() -> None:
    """Behind CloudFront the API still sees its execute-api host, so the app takes the
    stage as its public prefix (Location headers, the docs' spec URL). The CDN
    therefore keeps the stage in its URLs: every URL the app hands out through it
    leads back to the same origin path."""
    template = load_template()
    stack = Stack(template, {"EnableCdn": "true"})
    config = stack.properties("Cdn")["DistributionConfig"]
    (origin,) = config["Origins"]
    cdn_url = stack.outputs()["CdnUrl"]
    for route in ("/menu", "/orders/01J0000000000000000000000", "/docs"):
        viewer_path = cdn_url.removeprefix(f"https://{CDN_DOMAIN}") + route
        origin_path = origin.get("OriginPath", "") + viewer_path
        event = http_api_event("dev", route)
        event["rawPath"] = event["requestContext"]["http"]["path"] = origin_path
        # CloudFront sends the origin's host name (AllViewerExceptHostHeader).
        event["headers"]["host"] = event["requestContext"]["domainName"] = origin["DomainName"]
        root_path, path = public_paths(event, origin_path)
        assert path == root_path + route
        # What the app advertises (root_path + route) is what the viewer asked for.
        assert path == viewer_path, (route, root_path)
