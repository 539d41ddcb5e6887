"""The menu, with a short in-container cache.

HTTP APIs have no response cache, so each container keeps the serialised menu
for a few seconds; a write through this container clears it at once, and other
containers see the write within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.http.etags import strong_etag
from app.menu.schemas import item_dict
from app.store import blocking
from app.store.base import MenuItem, Store

CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class MenuSnapshot:
    menu: Rendered
    items: dict[str, Rendered]
    loaded_at: float


def _render(value: object) -> Rendered:
    body = json.dumps(value, separators=(",", ":")).encode()
    return Rendered(body, strong_etag(body))


class MenuService:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._snapshot: MenuSnapshot | None = None
        self.loads = 0

    async def snapshot(self) -> MenuSnapshot:
        snapshot = self._snapshot
        if snapshot is None or self.clock() - snapshot.loaded_at >= CACHE_SECONDS:
            items = await blocking.run(self.store.list_menu)
            self.loads += 1
            snapshot = MenuSnapshot(
                menu=_render({"items": [item_dict(item) for item in items]}),
                items={item.id: _render(item_dict(item)) for item in items},
                loaded_at=self.clock(),
            )
            self._snapshot = snapshot
        return snapshot

    def invalidate(self) -> None:
        self._snapshot = None

    async def put(self, item: MenuItem) -> tuple[Rendered, bool]:
        created = await blocking.run(self.store.put_menu_item, item)
        self.invalidate()
        return _render(item_dict(item)), created

    async def delete(self, item_id: str) -> bool:
        deleted = await blocking.run(self.store.delete_menu_item, item_id)
        self.invalidate()
        return deleted
