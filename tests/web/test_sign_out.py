"""Signing out in the browser revokes the session at the issuer before anything is
forgotten: the same code path as against Cognito's /oauth2/revoke in the cloud."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import People, Stack, sign_in

pytestmark = pytest.mark.timeout(120)


def signs_out_revoking(page: Page, issuer: str, client_id: str) -> None:
    """Sign out from a signed-in page: the refresh token it held is revoked at the issuer
    (RFC 7009) before the page forgets it."""
    stored = page.evaluate(
        """() => Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user:"))
                 .map((k) => sessionStorage.getItem(k))"""
    )
    refresh_token = json.loads(stored[0])["refresh_token"]
    assert refresh_token
    with page.expect_response(f"{issuer}/revoke") as revoked:
        page.get_by_role("button", name="Sign out").click()
    answer = revoked.value
    assert answer.request.method == "POST"
    form = parse_qs(answer.request.post_data or "")
    assert form == {"token": [refresh_token], "client_id": [client_id]}
    assert answer.status == 200
    expect(page.get_by_role("button", name="Sign in", exact=True).first).to_be_visible()
    assert page.evaluate("() => Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user:'))") == []


def test_sign_out_revokes_the_refresh_token_at_the_issuer(people: People, stack: Stack) -> None:
    page = people.page()
    page.goto(stack.site.origin + "/orders")
    page.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(page, stack, f"eve-{uuid.uuid4().hex[:6]}", "customer")
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
    signs_out_revoking(page, stack.issuer, "restaurant-web")
