"""A demo menu, so a fresh local run shows a restaurant rather than an empty list.

Created only for the ``local`` stage (see ``Settings.seeds_demo_menu``) and only
when the store holds no menu at all, so it never writes over a real menu and
never reaches the cloud, which starts empty.
"""

from __future__ import annotations

import logging

from app.store.base import MenuItem, Store

log = logging.getLogger("app.menu")

DEMO_MENU = (
    MenuItem("margherita", "Margherita", 1150, True),
    MenuItem("marinara", "Marinara", 950, True),
    MenuItem("quattro-formaggi", "Quattro formaggi", 1400, True),
    MenuItem("insalata-mista", "Insalata mista", 750, True),
    MenuItem("tiramisu", "Tiramisu", 650, True),
    MenuItem("truffle-special", "Truffle special", 2500, False),
)


def seed_demo_menu(store: Store) -> int:
    """Put the demo dishes into an empty menu; return how many were created."""
    if store.list_menu():
        return 0
    for item in DEMO_MENU:
        store.put_menu_item(item)
    log.info("demo menu created", extra={"dishes": len(DEMO_MENU)})
    return len(DEMO_MENU)
