"""The files GitHub shows at the root (README.md, CONTRIBUTING.md, CHANGELOG.md) are not
part of the site, so `mkdocs build --strict` does not check them: here, every relative
link in them names a file that exists, and a `#fragment` a heading of that file (as
GitHub and the site make anchors); and the README stays a front page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.snippets import ROOT

FRONT = ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```", re.M | re.S)


def anchors(page: Path) -> set[str]:
    """Heading ids as GitHub and Python-Markdown's toc make them: lower case, punctuation
    dropped, spaces to dashes."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCED.sub("", page.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def relative_links(page: Path) -> list[str]:
    text = FENCED.sub("", page.read_text())
    return [m["target"] for m in LINK.finditer(text) if not re.match(r"[a-z]+:", m["target"])]


@pytest.mark.parametrize("name", FRONT)
def test_every_relative_link_resolves(name: str) -> None:
    page = ROOT / name
    links = relative_links(page)
    assert links or name == "CHANGELOG.md"
    for link in links:
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_file(), f"{name}: {link} names no file"
        if fragment:
            assert fragment in anchors(target), f"{name}: {link} names no heading of {path or name}"


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert "```mermaid" in readme
    for page in ("getting-started", "deploy", "architecture", "live-orders", "twin"):
        assert f"(docs/{page}.md)" in readme
