"""The twin's CloudFront stand-in (twin/cdn.py) over loopback HTTP: every answer it gives
(the page, an SPA route, an asset, config.json, a 404) carries the security headers of
the template's response-headers policy, as the distribution's policy adds them to every
response; and it never writes a header that would split its response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from tests.deploy.test_site_csp import csp_metas, head_of
from twin.cdn import Distribution, _CfnLoader, serve_site, web_distribution
from twin.stack import ROOT

TEMPLATE = ROOT / "template.yaml"
API = "http://127.0.0.1:3999"
WS = "ws://127.0.0.1:3998"  # the twin's WebSocket API (config.json's wsUrl)


def policy() -> dict[str, Any]:
    """WebHeadersPolicy's SecurityHeadersConfig, read with the twin's own loader."""
    resources = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Resources"]  # noqa: S506 - a SafeLoader
    config: dict[str, Any] = resources["WebHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    return dict(config["SecurityHeadersConfig"])


@pytest.fixture(scope="module")
def distribution() -> Distribution:
    found = web_distribution(TEMPLATE, API, API)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, distribution: Distribution) -> Iterator[str]:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "index.html").write_text("<!doctype html><head><title>page</title></head>")
    (dist / "assets").mkdir()
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    with serve_site(dist, distribution, {"apiUrl": f"{API}/dev", "wsUrl": f"{WS}/dev"}) as (origin, _):
        yield origin


def expected_headers(distribution: Distribution) -> dict[str, str]:
    security = policy()
    hsts = security["StrictTransportSecurity"]
    assert hsts["IncludeSubdomains"] is True
    assert security["ContentTypeOptions"]["Override"] is True
    csp = distribution.headers["Content-Security-Policy"]
    # The CSP as the twin reads it from the template (its origins the twin's), never empty.
    assert "default-src" in csp
    assert API in csp
    return {
        "content-security-policy": csp,
        "strict-transport-security": f"max-age={hsts['AccessControlMaxAgeSec']}; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-frame-options": security["FrameOptions"]["FrameOption"],
        "referrer-policy": security["ReferrerPolicy"]["ReferrerPolicy"],
    }


def test_the_policy_names_every_header_the_stand_in_sends(distribution: Distribution) -> None:
    sent = {name.lower() for name in distribution.headers}
    assert sent == set(expected_headers(distribution))


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/index.html", 200),
        ("/kitchen", 200),  # a page route of the viewer-request function: index.html
        ("/assets/app-1234.js", 200),
        ("/config.json", 200),
        ("/no-such-page", 404),
        ("/assets/missing.js", 404),
        ("/../template.yaml", 404),
    ],
)
def test_every_answer_carries_the_policys_security_headers(
    site: str, distribution: Distribution, path: str, status: int
) -> None:
    response = httpx.get(f"{site}{path}", timeout=10)
    assert response.status_code == status
    for name, value in expected_headers(distribution).items():
        assert response.headers.get(name) == value, (path, name)


@pytest.mark.parametrize("path", ["/", "/index.html", "/kitchen"])
def test_the_page_carries_the_csp_meta_a_deploy_writes_naming_the_twins_api(site: str, path: str) -> None:
    page = httpx.get(f"{site}{path}", timeout=10).text
    assert csp_metas(page) == [f"connect-src 'self' {API} {WS}"]
    assert head_of(page)[0][1].get("http-equiv") == "Content-Security-Policy"


def test_the_header_lets_the_page_reach_the_twins_websocket_api(distribution: Distribution) -> None:
    """The cloud's header allows the region's WebSocket APIs (wss:, any execute-api host);
    the twin's allows its loopback likeness, ws: on 127.0.0.1 (the meta names the port)."""
    connect_src = next(
        d for d in distribution.headers["Content-Security-Policy"].split(";") if "connect-src" in d
    ).split()
    assert "ws://127.0.0.1:*" in connect_src
    assert not [source for source in connect_src if "${" in source or source.startswith("wss:")]


def test_a_header_with_a_line_break_is_never_sent(tmp_path: Path, distribution: Distribution) -> None:
    (tmp_path / "index.html").write_text("<head></head>page")
    broken = Distribution(distribution.routes, {**distribution.headers, "X-Note": "a\r\nSet-Cookie: x=1"})
    with serve_site(tmp_path, broken, {}) as (origin, _):
        response = httpx.get(f"{origin}/", timeout=10)
    assert response.status_code == 500
    assert "set-cookie" not in response.headers
    assert "x-note" not in response.headers
