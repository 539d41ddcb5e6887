"""`make mutate-audit`: one-line mutants that mutmut cannot reach, judged by named tests.

mutmut (``make mutate``) mutates ``src/app`` inside the test process. The twin runs in
its own process (``python -m twin serve``), and some behaviours live in the template or
span modules, so a trampoline never sees them. This audit applies each mutant of
``devtools/mutants.toml`` to the working tree (one at a time, the file restored in a
``finally``), runs the tests named beside it, and counts a mutant *caught* when they fail.

    python -m devtools.mutation_audit [--only NAME ...] [--markdown FILE]

A mutant whose ``find`` text is not in its file exactly once is an error, not a
survivor: the audit must not rot silently when the code it mutates changes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = Path(__file__).with_name("mutants.toml")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    find: str
    replace: str
    tests: list[str]
    why: str


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant
    caught: bool
    seconds: float


def load(path: Path = MUTANTS) -> list[Mutant]:
    document = tomllib.loads(path.read_text())
    return [Mutant(**entry) for entry in document["mutant"]]


def original_text(mutant: Mutant) -> str:
    """The file's text, after checking the mutant's ``find`` occurs in it exactly once."""
    text = (ROOT / mutant.path).read_text()
    if (count := text.count(mutant.find)) != 1:
        raise SystemExit(f"error: mutant {mutant.name}: {mutant.find!r} is {count} times in {mutant.path}")
    return text


def pytest(python: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    # Our own interpreter running pytest on test ids from devtools/mutants.toml.
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)  # noqa: S603


def judge(mutant: Mutant, python: str) -> Verdict:
    original = original_text(mutant)
    (ROOT / mutant.path).write_text(original.replace(mutant.find, mutant.replace))
    started = time.monotonic()
    try:
        result = pytest(python, "-x", *mutant.tests)
    finally:
        (ROOT / mutant.path).write_text(original)
    # Exit 1: a test failed (caught). 0: all passed (survived). Anything else (no tests
    # collected, an internal error) says the audit itself is broken.
    if result.returncode not in (0, 1):
        sys.stdout.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"error: mutant {mutant.name}: pytest exited {result.returncode}")
    return Verdict(mutant, result.returncode == 1, time.monotonic() - started)


def baseline(mutants: list[Mutant], python: str) -> None:
    """The named tests pass on the unmutated code; otherwise every verdict would lie."""
    tests = sorted({test for mutant in mutants for test in mutant.tests})
    result = pytest(python, *tests)
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-5000:])
        raise SystemExit("error: the audit's tests fail on the unmutated code")


def markdown(verdicts: list[Verdict]) -> str:
    lines = ["| mutant | file | what breaks | caught | s |", "|---|---|---|---|---|"]
    for v in verdicts:
        m = v.mutant
        lines.append(
            f"| `{m.name}` | `{m.path}` | {m.why} | {'yes' if v.caught else '**no**'} | {v.seconds:.0f} |"
        )
    caught = sum(v.caught for v in verdicts)
    lines.append(f"\n{caught} of {len(verdicts)} caught.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="mutant names")
    parser.add_argument("--markdown", type=Path, help="write the table here too")
    args = parser.parse_args(argv)
    mutants = load()
    if args.only:
        mutants = [m for m in mutants if m.name in set(args.only)]
    for mutant in mutants:  # every find text is checked before anything runs
        count = (ROOT / mutant.path).read_text().count(mutant.find)
        if count != 1:
            raise SystemExit(
                f"error: mutant {mutant.name}: {mutant.find!r} occurs {count} times in {mutant.path}"
            )
    baseline(mutants, sys.executable)
    verdicts = []
    for mutant in mutants:
        verdict = judge(mutant, sys.executable)
        print(
            f"{'caught  ' if verdict.caught else 'SURVIVED'} {mutant.name} ({verdict.seconds:.0f} s)",
            flush=True,
        )
        verdicts.append(verdict)
    table = markdown(verdicts)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    return 0 if all(v.caught for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
