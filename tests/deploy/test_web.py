"""The web app's hosting in template.yaml: a private bucket behind its own CloudFront
distribution, its security headers, the routes' fallback, and the wiring into CORS
and the Cognito web client. Evaluated with tests/deploy/stack.py's Stack, as CloudFormation would."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from app.settings import Settings
from tests.deploy.stack import EXTERNAL_AUTH, ROOT, STAND_IN_IDS, WEB_DOMAIN, Stack, load_template

pytestmark = pytest.mark.deploy

WEB_ORIGIN = f"https://{WEB_DOMAIN}"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::123456789012:distribution/{STAND_IN_IDS['WebDistribution']}"


def csp_directives(csp: str) -> dict[str, list[str]]:
    directives = {}
    for part in csp.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def function_routes(stack: Stack) -> list[str]:
    code = stack.properties("WebRoutesFunction")["FunctionCode"]
    match = re.search(r"var ROUTES = (\[[^\]]*\]);", code)
    assert match
    routes: list[str] = json.loads(match.group(1))
    return routes


def test_site_bucket_is_private_encrypted_and_tls_only() -> None:
    stack = Stack(load_template())
    bucket = stack.properties("WebBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "WebsiteConfiguration" not in bucket, "the bucket is no public website"

    policy = stack.properties("WebBucketPolicy")
    assert policy["Bucket"] == STAND_IN_IDS["WebBucket"]
    statements = policy["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {json.dumps(s["Principal"]) for s in allows} == {'{"Service": "cloudfront.amazonaws.com"}'}
    assert {s["Action"] for s in allows} == {"s3:GetObject", "s3:ListBucket"}
    for statement in allows:
        assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert (deny["Principal"], deny["Action"]) == ("*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2, "the bucket and its objects"


def test_distribution_reads_the_bucket_through_origin_access_control_and_serves_https_only() -> None:
    stack = Stack(load_template())
    config = stack.properties("WebDistribution")["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == STAND_IN_IDS["WebOriginAccessControl"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert origin["DomainName"].endswith(".s3.us-east-1.amazonaws.com")
    oac = stack.properties("WebOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    behaviour = config["DefaultCacheBehavior"]
    # Plain HTTP only ever gets a redirect; no content is served over it.
    assert behaviour["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["ResponseHeadersPolicyId"] == STAND_IN_IDS["WebHeadersPolicy"]
    (association,) = behaviour["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    # The fallback is the function on this behaviour, never distribution-wide error pages.
    assert "CustomErrorResponses" not in config
    assert config["DefaultRootObject"] == "index.html"


@pytest.mark.parametrize("mode", ["stack-user-pool", "external-issuer"])
def test_headers_policy_has_a_strict_csp_hsts_nosniff_and_frame_denial(mode: str) -> None:
    stack = Stack(load_template(), EXTERNAL_AUTH if mode == "external-issuer" else {})
    security = stack.properties("WebHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert all(header["Override"] is True for header in security.values())
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    directives = csp_directives(csp)
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    connect = directives["connect-src"]
    # Without a custom domain the region's execute-api hosts (the cycle in template.yaml).
    assert connect[:2] == ["'self'", "https://*.execute-api.us-east-1.amazonaws.com"]
    # And live orders' WebSocket API: the region's execute-api hosts, wss: only.
    assert connect[-1] == "wss://*.execute-api.us-east-1.amazonaws.com"
    if mode == "stack-user-pool":
        assert connect[2:-1] == [
            "https://cognito-idp.us-east-1.amazonaws.com",
            "https://serverless-api-dev-123456789012.auth.us-east-1.amazoncognito.com",
        ]
    else:
        assert connect[2:-1] == [EXTERNAL_AUTH["AuthIssuer"]]
    assert len(csp) <= 1783, "CloudFront's limit on the CSP header value"
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"]["FrameOption"] == "DENY"


def test_with_a_custom_domain_the_csp_connects_to_exactly_this_stacks_api_and_issuer() -> None:
    domain = {
        "ApiDomainName": "api.example.test",
        "ApiCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
        "0a1b2c3d-0000-4000-8000-0123456789ab",
    }
    stack = Stack(load_template(), domain)
    security = stack.properties("WebHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    connect = csp_directives(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])["connect-src"]
    assert connect == [
        "'self'",
        "https://api.example.test",
        "https://cognito-idp.us-east-1.amazonaws.com",
        "https://serverless-api-dev-123456789012.auth.us-east-1.amazoncognito.com",
        "wss://*.execute-api.us-east-1.amazonaws.com",  # live orders: no custom domain
    ]
    assert not [source for source in connect[:-1] if "*" in source]
    # The page calls the API where the CSP lets it: the domain, at its root.
    assert json.loads(stack.outputs()["WebConfig"])["apiUrl"] == "https://api.example.test"


def test_the_fallback_routes_are_exactly_the_pages_routes() -> None:
    app = (ROOT / "web" / "src" / "App.tsx").read_text()
    match = re.search(r"export const ROUTES = (\[[^\]]*\]) as const;", app)
    assert match, "web/src/App.tsx has no ROUTES"
    assert function_routes(Stack(load_template())) == json.loads(match.group(1))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is missing (make test installs it)")
def test_the_fallback_function_gives_index_html_to_routes_and_nothing_else() -> None:
    """The function's own code, run by node as CloudFront runs it on each viewer request."""
    code = Stack(load_template()).properties("WebRoutesFunction")["FunctionCode"]
    paths = ["/", "/checkout", "/kitchen", "/callback", "/config.json", "/assets/index-abc.js"]
    paths += ["/nope", "/chef/x"]
    script = code + f"\nconsole.log(JSON.stringify({json.dumps(paths)}.map(function (uri) {{"
    script += " return handler({request: {uri: uri}}).uri; })));"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    served = dict(zip(paths, json.loads(result.stdout), strict=True))
    assert served == {
        "/": "/index.html",
        "/checkout": "/index.html",
        "/kitchen": "/index.html",
        "/callback": "/index.html",
        "/config.json": "/config.json",
        "/assets/index-abc.js": "/assets/index-abc.js",
        "/nope": "/nope",
        "/chef/x": "/chef/x",
    }


@pytest.mark.parametrize("cors", ["", "https://app.example.com,http://localhost:5173"])
def test_the_sites_origin_joins_the_apis_cors_origins(cors: str) -> None:
    stack = Stack(load_template(), {"CorsAllowOrigins": cors} if cors else {})
    value = stack.function_environment()["APP_CORS_ALLOW_ORIGINS"]
    settings = Settings(
        stage="dev",
        auth_issuer="https://issuer.example.test",
        cors_allow_origins=value,  # type: ignore[arg-type]
    )
    assert settings.cors_allow_origins == [WEB_ORIGIN, *filter(None, cors.split(","))]


def test_the_web_client_calls_back_to_the_site_and_signs_out_to_it() -> None:
    stack = Stack(load_template())
    client = stack.properties("WebClient")
    # After AuthCallbackUrl's, if there is one: the site's own.
    assert client["CallbackURLs"][-1] == f"{WEB_ORIGIN}/callback"
    assert client["LogoutURLs"] == [f"{WEB_ORIGIN}/"]
    assert client["AllowedOAuthFlows"] == ["code"]


def test_outputs_name_the_site_and_its_config() -> None:
    outputs = Stack(load_template()).outputs()
    assert outputs["WebUrl"] == f"{WEB_ORIGIN}/"
    assert outputs["WebBucketName"] == STAND_IN_IDS["WebBucket"]
    config: dict[str, Any] = json.loads(outputs["WebConfig"])
    assert config == {
        "apiUrl": f"https://{STAND_IN_IDS['HttpApi']}.execute-api.us-east-1.amazonaws.com/dev",
        "authority": f"https://cognito-idp.us-east-1.amazonaws.com/{STAND_IN_IDS['UserPool']}",
        "clientId": STAND_IN_IDS["WebClient"],
        "scopes": "openid email orders-api/orders:read orders-api/orders:write",
        "scopePrefix": "orders-api/",
        "signOutUrl": (
            "https://serverless-api-dev-123456789012.auth.us-east-1.amazoncognito.com/logout"
            f"?client_id={STAND_IN_IDS['WebClient']}&logout_uri={WEB_ORIGIN}/"
        ),
        "revokeUrl": "https://serverless-api-dev-123456789012.auth.us-east-1.amazoncognito.com/oauth2/revoke",
    }
    # The issuer is the API's own (APP_AUTH_ISSUER), so the page and the API trust the same tokens.
    assert config["authority"] == Stack(load_template()).function_environment()["APP_AUTH_ISSUER"]
    external = Stack(load_template(), EXTERNAL_AUTH).outputs()
    assert "WebConfig" not in external
    assert external["WebUrl"] == f"{WEB_ORIGIN}/"
