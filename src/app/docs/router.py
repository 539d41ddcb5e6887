from __future__ import annotations

import html
import importlib.util
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse

from app.auth.middleware import public
from app.http.problems import Problem
from app.http.routes import api_router

router = api_router(include_in_schema=False)

HERE = Path(__file__).parent
ASSET_CACHE = "public, max-age=86400"
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "application/javascript",
    "favicon.png": "image/png",
    "swagger-init.js": "application/javascript",
}


class AssetNotFound(Problem):
    status = 404


@lru_cache(maxsize=1)
def static_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package (docs assets) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _root(request: Request) -> str:
    return html.escape(str(request.scope.get("root_path", "")).rstrip("/"), quote=True)


@router.get("/docs")
@public
async def swagger(request: Request) -> HTMLResponse:
    root = _root(request)
    title = html.escape(request.app.title)
    return HTMLResponse(
        f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Swagger UI</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" href="{root}/docs/assets/favicon.png"></head>
<body><div id="swagger-ui" data-spec-url="{root}/openapi.json"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/assets/swagger-init.js"></script>
</body></html>"""
    )


@router.get("/redoc")
@public
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    title = html.escape(request.app.title)
    return HTMLResponse(
        f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{root}/docs/assets/favicon.png"></head>
<body><redoc spec-url="{root}/openapi.json"></redoc>
<script src="{root}/docs/assets/redoc.standalone.js"></script>
</body></html>"""
    )


@router.get("/docs/assets/{name}")
@public
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise AssetNotFound(f"No docs asset {name!r}.")
    path = HERE / name if name == "swagger-init.js" else static_dir() / name
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": ASSET_CACHE})
