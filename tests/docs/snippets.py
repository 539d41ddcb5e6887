"""The shell snippets of README.md, CONTRIBUTING.md and docs/*.md, as a reader copies them.

A snippet is a fenced ```bash, ```sh, ```shell or ```console block, also inside a tab
or an admonition (indented). `<!-- snippet: skip (reason) -->` on the line before the
fence marks one that cannot run here (it needs AWS, or starts a long-running server);
the reason is required. In a console block only the `$ ` lines are commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = ("bash", "sh", "shell", "console")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
SKIP = re.compile(r"^\s*<!-- snippet: skip \((?P<reason>[^)]*)\) -->\s*$")
# `make run` is the server the test starts itself, on a port of its own.
MAKE_RUN = re.compile(r"^make run\b[^\n]*$", re.M)
MAKE_TARGET = re.compile(r"(?:^|[;&|(]\s*)make\s+(?:[A-Z_]+=\S*\s+)*(?P<target>[a-z][\w-]*)", re.M)


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # the reason, for a snippet marked not to run

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def script(self) -> str:
        """The commands, as bash runs them."""
        if self.lang != "console":
            return self.code
        return "\n".join(line[2:] for line in self.code.splitlines() if line.startswith("$ "))

    def make_targets(self) -> set[str]:
        return {match["target"] for match in MAKE_TARGET.finditer(self.script())}


def pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def parse(path: Path, text: str | None = None) -> list[Snippet]:
    lines = (path.read_text() if text is None else text).splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None or not opening["lang"]:
            index += 1
            continue
        indent, lang, start = opening["indent"], opening["lang"], index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index])
            index += 1
        index += 1  # the closing fence
        if lang not in SHELLS:
            continue
        previous = lines[start - 1] if start > 0 else ""
        marker = SKIP.match(previous)
        reason = marker["reason"] if marker else None
        found.append(Snippet(path, start + 1, lang, "\n".join(body) + "\n", reason))
    return found


def all_snippets() -> list[Snippet]:
    return [snippet for page in pages() for snippet in parse(page)]
