"""The commands the README and the guides tell a reader to type, run as the reader runs
them: against a real uvicorn server (as `make run` starts it, on a free port of its own
in place of 8000), and `make user` against moto's Cognito and CloudFormation on
loopback. A renamed route, flag or make target fails here, not for the reader.

Each curl call's status is recorded (a `curl` shell function around the real one): a
`4xx` or `5xx` fails the snippet, except a `401` for a call that sent no token, which
the docs show on purpose."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.moto_aws import moto_aws, run_against
from tests.deploy.test_users import _stacks
from tests.docs.snippets import MAKE_RUN, ROOT, Snippet, all_snippets, parse
from tests.e2e.conftest import run_server

LOCAL = "127.0.0.1:8000"  # http:// and ws:// alike
# Snippets that cannot run here (AWS, the twin, long campaigns) are few, each with its
# reason; a new one is a decision, not a default.
MAX_SKIPPED = 15
# Each call's status goes to stderr and its output, in order, to a file of its own in
# $SNIPPET_BODIES (numbered by a count of the files: calls in $(...) share no variables).
PRELUDE = r"""set -euo pipefail
curl() {
  local auth=no arg n
  for arg in "$@"; do case "$arg" in "Authorization: Bearer "*) auth=yes;; esac; done
  n=$(find "$SNIPPET_BODIES" -type f | wc -l)
  command curl -w "%{stderr}SNIPPET-HTTP %{http_code} %{method} %{url_effective} auth=$auth\n" "$@" \
    | tee "$SNIPPET_BODIES/$(printf %03d "$n")"
}
"""
# A comment line showing JSON right after a curl line is what that call prints; `...`
# ends what is shown.
SHOWN = re.compile(r"^# (?P<json>[{\[].*)$")
CALL = re.compile(
    r"^SNIPPET-HTTP (?P<status>\d{3}) (?P<method>\S+) (?P<url>\S+) auth=(?P<auth>yes|no)$", re.M
)

SNIPPETS = all_snippets()
RUNNABLE = [snippet for snippet in SNIPPETS if snippet.skip is None]


def test_the_snippets_are_found_and_few_are_skipped() -> None:
    pages = {snippet.path.name for snippet in RUNNABLE}
    assert {"README.md", "api.md", "local-development.md", "getting-started.md", "deploy.md"} <= pages
    skipped = [snippet for snippet in SNIPPETS if snippet.skip is not None]
    assert len(skipped) <= MAX_SKIPPED, [snippet.name for snippet in skipped]
    for snippet in skipped:
        assert len(snippet.skip or "") >= 10, f"{snippet.name}: a skipped snippet says why"


def test_a_skip_marker_needs_its_reason_and_its_place() -> None:
    page = ROOT / "README.md"
    text = "<!-- snippet: skip (needs AWS: deploys a stack) -->\n```sh\nmake deploy\n```\n\n```sh\nls\n```\n"
    first, second = parse(page, text)
    assert first.skip == "needs AWS: deploys a stack"
    assert second.skip is None  # the marker holds for the fence right after it only


def make_targets() -> set[str]:
    database = subprocess.run(
        ["make", "-pRrq", "-C", str(ROOT)], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    return set(re.findall(r"^([a-z][\w-]*):", database, re.M))


def test_every_make_target_a_snippet_names_exists() -> None:
    """Skipped snippets too: a renamed target fails even where the command cannot run."""
    targets = make_targets()
    named = {(snippet.name, target) for snippet in SNIPPETS for target in snippet.make_targets()}
    assert {target for _, target in named} >= {"run", "test", "cloud", "deploy", "user"}
    missing = [(name, target) for name, target in named if target not in targets]
    assert not missing, f"snippets name make targets that do not exist: {missing}"


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    with moto_aws() as (endpoint, session):
        yield from _stacks(endpoint, session)


def run_local(snippet: Snippet, tmp_path: Path) -> None:
    # The reader's working directory is the repository's: `.venv/bin/python` is there.
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    bodies = tmp_path / "bodies"
    bodies.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {"SNIPPET_BODIES": str(bodies)}
    with run_server(tmp_path, empty_store=False) as server:  # the demo menu, as make run has it
        script = MAKE_RUN.sub("", snippet.script()).replace(LOCAL, server.url.removeprefix("http://"))
        result = subprocess.run(
            ["bash", "-c", PRELUDE + script],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,  # an interactive client (python -m websockets) ends at EOF
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    report = f"{snippet.name}\n--- script\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, report
    if "-m websockets" in script:  # the interactive client: connected, then EOF closed it
        assert "Connected to ws://" in result.stdout, report
    calls = list(CALL.finditer(result.stderr))
    assert len(calls) == snippet.script().count("curl "), report
    outputs = [path.read_text() for path in sorted(bodies.iterdir())]
    for index, shown in shown_outputs(snippet.script()):
        prefix = shown.split("...", 1)[0]
        assert outputs[index].strip().startswith(prefix), (
            f"call {index + 1} printed {outputs[index]!r}\n{report}"
        )
    for call in calls:
        status = int(call["status"])
        expected_refusal = status == 401 and call["auth"] == "no"
        assert status < 400 or expected_refusal, f"{call['method']} {call['url']}: {status}\n{report}"


def shown_outputs(script: str) -> list[tuple[int, str]]:
    """(the curl call's index, the JSON the docs show it printing), in script order."""
    shown, calls, previous = [], 0, ""
    for line in script.splitlines():
        match = SHOWN.match(line.strip())
        if match and "curl " in previous:
            shown.append((calls - 1, match["json"]))
        calls += line.count("curl ")
        previous = line
    return shown


def run_make_user(snippet: Snippet, aws: dict[str, Any]) -> None:
    output = run_against(aws["endpoint"], ["bash", "-c", PRELUDE + snippet.script()], drop=("MAKE",))
    for email in re.findall(r"EMAIL=(\S+)", snippet.script()):
        person = aws["cognito"].admin_get_user(UserPoolId=aws["pool"], Username=email)
        assert person["Username"], output


@pytest.mark.parametrize("snippet", RUNNABLE, ids=[snippet.name for snippet in RUNNABLE])
def test_the_snippet_runs(snippet: Snippet, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "make user" in snippet.script():
        run_make_user(snippet, request.getfixturevalue("aws"))
    else:
        run_local(snippet, tmp_path)
