"""index.html's own CSP (ops/site_csp.py): one `<meta http-equiv>` first in `<head>`,
its `connect-src` exactly the site and the origins the page calls, read back the way
a browser reads it (an HTML parser, the attribute unescaped)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from ops.site_csp import connect_origins, with_connect_csp
from tests.deploy.stack import ROOT

API = "https://abc123defg.execute-api.us-east-1.amazonaws.com"
COGNITO = "https://cognito-idp.us-east-1.amazonaws.com"
DOMAIN = "https://pool.auth.us-east-1.amazoncognito.com"
PAGE = (ROOT / "web" / "index.html").read_text()  # Vite's source: the build keeps its <head>


class Head(HTMLParser):
    """The start tags inside <head>, in order, with their attributes as parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.inside:
            self.tags.append((tag, dict(attrs)))
        self.inside = self.inside or tag == "head"

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "head"


def head_of(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Head()
    parser.feed(page)
    return parser.tags


def csp_metas(page: str) -> list[str]:
    return [
        str(attrs["content"])
        for tag, attrs in head_of(page)
        if tag == "meta" and str(attrs.get("http-equiv")).lower() == "content-security-policy"
    ]


def test_one_meta_first_in_head_connects_to_exactly_the_given_origins() -> None:
    page = with_connect_csp(PAGE, [API, COGNITO, DOMAIN, API])
    assert csp_metas(page) == [f"connect-src 'self' {API} {COGNITO} {DOMAIN}"]
    first_tag, first_attrs = head_of(page)[0]
    assert (first_tag, first_attrs.get("http-equiv")) == ("meta", "Content-Security-Policy"), (
        "before every script and link: a meta policy governs only what follows it"
    )
    assert re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page) == PAGE, (
        "nothing else changed"
    )


def test_the_origins_are_those_the_page_calls_from_its_config() -> None:
    config = {
        "apiUrl": f"{API}/dev",
        "authority": f"{COGNITO}/us-east-1_Te5tPoo1",
        "clientId": "x",
        "signOutUrl": "https://elsewhere.example/logout",  # a navigation, not a connection
        "revokeUrl": f"{DOMAIN}/oauth2/revoke",
        "wsUrl": "wss://w5s0ck3t1d.execute-api.us-east-1.amazonaws.com/dev",  # live orders
    }
    assert connect_origins(config) == [
        API,
        COGNITO,
        DOMAIN,
        "wss://w5s0ck3t1d.execute-api.us-east-1.amazonaws.com",
    ]
    assert connect_origins({**config, "wsUrl": ""}) == [API, COGNITO, DOMAIN]  # live updates off
    twin = "http://127.0.0.1:3000"
    loopback = {"apiUrl": f"{twin}/dev", "authority": f"{twin}/.twin/issuer", "revokeUrl": ""}
    assert connect_origins(loopback, loopback_http=True) == [twin]
    twin_ws = {**loopback, "wsUrl": "ws://127.0.0.1:3002/dev"}
    assert connect_origins(twin_ws, loopback_http=True) == [twin, "ws://127.0.0.1:3002"]
    with pytest.raises(ValueError, match="not a plain https origin"):
        connect_origins(loopback)  # plain http only for the twin, on loopback


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.execute-api.us-east-1.amazonaws.com",  # the header's wildcard
        f"{API}/dev",  # a path
        f"{API}'",  # a quote would close the source list
        f'{API}" onload="x',  # a double quote would close the attribute
        f"{API} https://evil.example",  # two sources in one
        f"{API};script-src *",  # another directive
        "https://user@abc.execute-api.us-east-1.amazonaws.com",
        "https://ABC.example",
        "http://abc.example",  # plain http off loopback
        "ws://abc.example",  # plain ws off loopback
        "wss://abc.example/dev",  # a WebSocket URL, not its origin
        "wss://*.execute-api.us-east-1.amazonaws.com",
        "http://127.0.0.1:3000",  # loopback http where the deploy needs https
        "ws://127.0.0.1:3002",  # loopback ws likewise
        "https://a.example:65536",
        "'unsafe-inline'",
        "*",
        "",
    ],
)
def test_anything_but_a_plain_https_origin_is_refused(origin: str) -> None:
    with pytest.raises(ValueError, match="not a plain https origin"):
        with_connect_csp(PAGE, [API, origin])


def test_a_quote_in_a_config_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not a plain https origin"):
        connect_origins({"apiUrl": "https://a.example'x/dev"})


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ("<!doctype html><title>t</title><script src=/a.js></script>", "0 <head> tags"),
        ("<html><head><head></head>", "2 <head> tags"),
        (
            '<html><head><meta http-equiv="content-security-policy" content="connect-src *"></head>',
            "already has",
        ),
    ],
)
def test_a_page_it_cannot_place_exactly_one_meta_in_is_refused(page: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        with_connect_csp(page, [API])
