"""The docs as a reader sees them, in headless Chromium (`make docs-screenshots`):

- the built site's home page and one guide (from `.site/`, `make docs-build`), at a
  laptop's width, into docs/screenshots/site-home.png and site-guide.png;
- README.md rendered as GitHub renders it (Python-Markdown with tables and fenced code,
  GitHub's table and code-block CSS rules) at a phone's width, 390 px, into
  docs/screenshots/readme-phone.png, and which of its tables would scroll sideways
  there (the test in tests/docs asserts none does).

Nothing leaves the machine: the pages are served on loopback and every other request is
refused, except Mermaid's script, which Material for MkDocs loads from a CDN: with
`--mermaid PATH` (a local mermaid.min.js, e.g. from `npm pack mermaid@11`) it is
answered from that file, so the diagrams are drawn; without, they show as their text.
"""

from __future__ import annotations

import argparse
import functools
import html
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import markdown
from playwright.sync_api import Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 860}
# Mermaid's script, wherever a page asks for it (Material for MkDocs names a CDN's copy):
# answered from the local file given with --mermaid, or refused (the diagram stays text).
MERMAID_SCRIPT = "/mermaid.min.js"
README_PATH = "/__readme__.html"
# GitHub's own rules for what can be wide: a table scrolls inside itself, a code block
# inside itself, an image shrinks to the column; prose wraps.
GITHUB_CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       font-size: 16px; line-height: 1.5; margin: 0; padding: 16px; overflow-wrap: break-word; }
img { max-width: 100%; }
table { display: block; width: max-content; max-width: 100%; overflow: auto; border-collapse: collapse; }
td, th { border: 1px solid #d0d7de; padding: 6px 13px; }
pre { overflow: auto; background: #f6f8fa; padding: 16px; font-size: 85%; }
"""
# What would scroll sideways: a table (its header row names it), or the page itself
# (prose or an image that does not wrap or shrink).
OVERFLOWING = """() => [...document.querySelectorAll('table')]
  .filter(t => t.scrollWidth > t.clientWidth + 1)
  .map(t => 'table: ' + t.querySelector('tr').innerText.replace(/\\s+/g, ' '))
  .concat(document.documentElement.scrollWidth > innerWidth ? ['the page itself'] : [])"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def readme_html() -> str:
    text = (ROOT / "README.md").read_text()
    # GitHub draws ```mermaid blocks; here Mermaid's script does, from <pre class="mermaid">.
    text = re.sub(
        r"```mermaid\n(.*?)```",
        lambda m: f'<pre class="mermaid">{html.escape(m.group(1))}</pre>',
        text,
        flags=re.S,
    )
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    return (
        f'<!doctype html><meta name="viewport" content="width=device-width"><style>{GITHUB_CSS}</style>'
        f'<article>{body}</article><script src="{MERMAID_SCRIPT}"></script>'
        "<script>window.mermaid && mermaid.run()</script>"
    )


def _route(page: Page, origin: str, mermaid: Path | None) -> None:
    def answer(route: Route) -> None:
        url = route.request.url
        if url.startswith(origin + README_PATH):
            route.fulfill(body=readme_html(), content_type="text/html")
        elif urlsplit(url).path.endswith(MERMAID_SCRIPT) and mermaid is not None:
            route.fulfill(path=str(mermaid), content_type="text/javascript")
        elif url.startswith(origin):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", answer)


# Material for MkDocs replaces each <pre class="mermaid"> with a <div> holding a closed
# shadow root; Mermaid's own run() draws an <svg> inside the <pre>.
DRAWN = """() => [...document.querySelectorAll('.mermaid')].every(e =>
  e.querySelector('svg') || (e.tagName === 'DIV' && e.getBoundingClientRect().height > 0))"""


def _settle(page: Page, mermaid: Path | None) -> None:
    page.wait_for_load_state("networkidle")
    if mermaid is not None:
        page.wait_for_function(DRAWN, timeout=15_000)


def readme_on_a_phone(out: Path | None = None, mermaid: Path | None = None) -> list[str]:
    """The README at 390 px; what in it would scroll sideways (none, as it should be)."""
    with serve(ROOT) as origin, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=2)
            _route(page, origin, mermaid)
            page.goto(origin + README_PATH)
            _settle(page, mermaid)
            if out is not None:
                page.screenshot(path=str(out), full_page=True)
            overflowing: list[str] = page.evaluate(OVERFLOWING)
            return overflowing
        finally:
            browser.close()


def site_pages(out_dir: Path, mermaid: Path | None) -> None:
    shots = {"site-home.png": "/", "site-guide.png": "/getting-started/"}
    with serve(ROOT / ".site") as origin, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport=LAPTOP)
            _route(page, origin, mermaid)
            for name, path in shots.items():
                page.goto(origin + path)
                _settle(page, mermaid)
                page.screenshot(path=str(out_dir / name), full_page=name != "site-home.png")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid", type=Path, help="a local mermaid.min.js, to draw the diagrams")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    options = parser.parse_args()
    site_pages(options.out, options.mermaid)
    overflowing = readme_on_a_phone(options.out / "readme-phone.png", options.mermaid)
    for header in overflowing:
        print(f"README wider than a phone: {header}")
    raise SystemExit(1 if overflowing else 0)


if __name__ == "__main__":
    main()
