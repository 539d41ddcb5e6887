"""`python -m app.devtoken` mints a token that the local server, with local defaults, accepts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import ROOT, Server


def devtoken(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    return subprocess.run(
        [sys.executable, "-m", "app.devtoken", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def server_dir(server: Server) -> Path:
    return server.log_path.parent


def test_devtoken_is_accepted_by_the_local_server(server: Server) -> None:
    cwd = server_dir(server)
    minted = devtoken(cwd, "--sub", "alice", "--scope", "orders:read orders:write")
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert token.count(".") == 2

    response = httpx.get(server.url + "/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "scopes": ["orders:read", "orders:write"]}
    # The same protected route without the token is refused.
    assert httpx.get(server.url + "/me").status_code == 401


def test_devtoken_group_gives_the_role_as_cognito_does(server: Server) -> None:
    """`--group chef` (the API guide's curl example, docs/api.md): customer scopes and cognito:groups,
    which the local server, by its default APP_AUTH_GROUP_ROLES, grants menu:write."""
    minted = devtoken(server_dir(server), "--sub", "chef", "--group", "chef")
    assert minted.returncode == 0, minted.stderr
    response = httpx.get(server.url + "/me", headers={"Authorization": f"Bearer {minted.stdout.strip()}"})
    assert response.json() == {"sub": "chef", "scopes": ["menu:write", "orders:read", "orders:write"]}


def test_devtoken_keeps_its_key_private_and_reuses_it(server: Server) -> None:
    cwd = server_dir(server)
    first = devtoken(cwd, "--sub", "bob")
    second = devtoken(cwd, "--sub", "bob", "--ttl", "60")
    assert first.returncode == second.returncode == 0
    key = cwd / ".local" / "dev-signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    jwks = (cwd / ".local" / "jwks.json").read_text()
    assert "PRIVATE" not in jwks
    assert '"d"' not in jwks  # no private exponent in the public JWKS
    response = httpx.get(server.url + "/me", headers={"Authorization": f"Bearer {second.stdout.strip()}"})
    assert response.status_code == 200


def test_devtoken_refuses_outside_the_local_stage(tmp_path: Path) -> None:
    result = devtoken(
        tmp_path, "--sub", "eve", env={"APP_STAGE": "prod", "APP_AUTH_ISSUER": "https://issuer.example.com"}
    )
    assert result.returncode != 0
    assert "only for APP_STAGE=local" in result.stderr
    assert not (tmp_path / ".local").exists()
