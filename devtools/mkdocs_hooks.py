"""MkDocs hooks (mkdocs.yml `hooks:`): what the site shows of the API comes from the
app's own OpenAPI document, built without a server as `web/scripts/dump_openapi.py`
builds it, so no page retypes it.

- `openapi.json` is added to the site, so the API page links the document itself;
- `<!-- openapi: operations -->` in a page becomes a table of every operation (method,
  path, the scopes it needs, its summary and its `operationId`, the name a generated
  client gives the method).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from functools import cache
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MARKER = "<!-- openapi: operations -->"
METHODS = ("get", "put", "post", "patch", "delete")


@cache
def openapi() -> dict[str, Any]:
    # Importing app.main builds its module-level app, whose development sign-in would
    # announce itself; the build's output is not the place for start-up lines.
    os.environ.setdefault("APP_DEV_SIGNIN", "false")
    with contextlib.redirect_stdout(sys.stderr):
        from app.main import create_app
        from app.settings import Settings

        document: dict[str, Any] = create_app(Settings(rate_limit="0", dev_signin=False)).openapi()
    return document


def operations_table(document: dict[str, Any]) -> str:
    rows = ["| method and path | needs | what | `operationId` |", "|---|---|---|---|"]
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            security = operation.get("security")
            if security is None:
                needs = "anyone"
            else:
                scopes = [scope for requirement in security for scope in requirement.get("bearer", [])]
                needs = ", ".join(f"`{scope}`" for scope in scopes) or "any valid token"
            summary = operation.get("summary", "").replace("|", "\\|")
            rows.append(f"| `{method.upper()} {path}` | {needs} | {summary} | `{operation['operationId']}` |")
    return "\n".join(rows)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    content = json.dumps(openapi(), indent=2, sort_keys=True) + "\n"
    files.append(File.generated(config, "openapi.json", content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, operations_table(openapi()))
    return markdown
