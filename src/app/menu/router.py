from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response

from app.auth.dependencies import MenuWriter
from app.auth.middleware import public
from app.http.etags import none_match
from app.http.problems import Problem, problem_responses
from app.http.routes import api_router
from app.menu.schemas import ItemId, MenuItemIn, MenuItemOut, MenuOut
from app.menu.service import MenuService, Rendered
from app.store.base import MenuItem

# Every menu route validates its input and reads the store.
router = api_router(prefix="/menu", tags=["menu"], responses=problem_responses(422, 429, 503))

# Browsers and CloudFront may keep the menu for a minute; the ETag makes the
# revalidation after that cheap (304, no body).
PUBLIC_CACHE = "public, max-age=60"


class MenuItemNotFound(Problem):
    status = 404
    type_slug = "menu-item-not-found"


async def menu_service(request: Request) -> MenuService:
    service: MenuService = request.app.state.menu
    return service


# OpenAPI links from a written item to reading and removing it (operationRef is a
# JSON pointer, braces percent-encoded).
ITEM_LINKS = {
    "GetMenuItem": {
        "operationRef": "#/paths/~1menu~1%7Bitem_id%7D/get",
        "parameters": {"item_id": "$request.path.item_id"},
        "description": "Read the item back.",
    },
    "DeleteMenuItem": {
        "operationRef": "#/paths/~1menu~1%7Bitem_id%7D/delete",
        "parameters": {"item_id": "$request.path.item_id"},
        "description": "Remove it.",
    },
}
CACHED_HEADERS = {
    "ETag": {"required": True, "schema": {"type": "string"}},
    "Cache-Control": {"required": True, "schema": {"type": "string"}},
}
WRITER_PROBLEMS = problem_responses(401, 403)

Menu = Annotated[MenuService, Depends(menu_service)]
IfNoneMatch = Annotated[str | None, Header(description="A previous ETag: 304 if unchanged.")]


def _cached(rendered: Rendered, if_none_match: str | None) -> Response:
    headers = {"ETag": rendered.etag, "Cache-Control": PUBLIC_CACHE}
    if none_match(if_none_match, rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)


@router.get(
    "",
    response_model=MenuOut,
    summary="Every menu item",
    responses={
        200: {"headers": CACHED_HEADERS},
        304: {"description": "Not modified (If-None-Match matched)", "headers": CACHED_HEADERS},
    },
)
@public
async def list_menu(menu: Menu, if_none_match: IfNoneMatch = None) -> Response:
    snapshot = await menu.snapshot()
    return _cached(snapshot.menu, if_none_match)


@router.get(
    "/{item_id}",
    response_model=MenuItemOut,
    summary="One menu item",
    responses={
        200: {"headers": CACHED_HEADERS},
        304: {"description": "Not modified", "headers": CACHED_HEADERS},
        **problem_responses(described={404: "No such item"}),
    },
)
@public
async def get_menu_item(item_id: ItemId, menu: Menu, if_none_match: IfNoneMatch = None) -> Response:
    snapshot = await menu.snapshot()
    rendered = snapshot.items.get(item_id)
    if rendered is None:
        raise MenuItemNotFound(f"There is no menu item {item_id!r}.")
    return _cached(rendered, if_none_match)


@router.put(
    "/{item_id}",
    response_model=MenuItemOut,
    summary="Create or replace a menu item",
    status_code=200,
    responses={
        200: {"description": "Replaced", "links": ITEM_LINKS},
        201: {"description": "Created", "model": MenuItemOut, "links": ITEM_LINKS},
        **WRITER_PROBLEMS,
        **problem_responses(413),
    },
)
async def put_menu_item(
    item_id: ItemId, body: MenuItemIn, menu: Menu, request: Request, _: MenuWriter
) -> Response:
    item = MenuItem(id=item_id, name=body.name, price_cents=body.price_cents, available=body.available)
    rendered, created = await menu.put(item)
    headers = {"ETag": rendered.etag, "Cache-Control": "no-store"}
    if created:
        headers["Location"] = request.scope.get("root_path", "") + f"/menu/{item_id}"
    return Response(
        rendered.body, status_code=201 if created else 200, media_type="application/json", headers=headers
    )


@router.delete(
    "/{item_id}",
    status_code=204,
    summary="Remove a menu item",
    responses={**WRITER_PROBLEMS, **problem_responses(described={404: "No such item"})},
)
async def delete_menu_item(item_id: ItemId, menu: Menu, _: MenuWriter) -> Response:
    if not await menu.delete(item_id):
        raise MenuItemNotFound(f"There is no menu item {item_id!r}.")
    return Response(status_code=204)
