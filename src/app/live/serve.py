"""Live orders under uvicorn: the ``/ws`` route, the hub, and the SQLite change feed.

Only SQLite has a local change feed (its triggers, app.live.sqlite_feed). With
``APP_STORE=dynamodb`` under uvicorn, live updates are off and start-up says so:
the table's stream reaches clients through the WebSocket API (`make cloud`, the cloud).
"""

from __future__ import annotations

import logging
from typing import Any

from app.live.local import Hub
from app.live.sqlite_feed import SqliteFeed
from app.live.websocket import PATH, route
from app.settings import Settings

log = logging.getLogger("app.live")


def install(app: Any, settings: Settings) -> None:
    app.state.live_hub = None
    if settings.store != "sqlite" or settings.sqlite_path == ":memory:":
        log.warning(
            "live updates are off: under uvicorn they need the SQLite store in a file "
            "(APP_STORE=sqlite); with DynamoDB, use make cloud"
        )
        return
    app.state.live_hub = Hub()
    app.router.routes.append(route())


def start_feed(app: Any) -> SqliteFeed | None:
    """Called by the lifespan once the store exists (its tables are made)."""
    hub: Hub | None = app.state.live_hub
    if hub is None:
        return None
    store = app.state.store
    store.ping()  # the store's schema, before the triggers that name its tables
    feed = SqliteFeed(getattr(store, "path", app.state.settings.sqlite_path), hub.registry, hub.transport)
    feed.start()
    log.info("live updates on ws://HOST:PORT%s?token=ACCESS_TOKEN (SQLite change feed)", PATH)
    return feed
