import { describe, expect, it } from "vitest";

import type { MenuItem } from "../../api/client";
import { menuChanged, menuRead, menuReading, NO_MENU } from "./live";

const dish = (id: string, available = true): MenuItem => ({ id, name: id, price_cents: 100, available });

describe("the menu's live changes", () => {
  it("marks a dish made unavailable, drops a removed one, adds a new one in id order", () => {
    let menu = menuRead(NO_MENU, [dish("margherita"), dish("tiramisu")]);
    menu = menuChanged(menu, { item: dish("margherita", false) });
    menu = menuChanged(menu, { removed: "tiramisu" });
    menu = menuChanged(menu, { item: dish("calzone") });
    expect(menu.items).toEqual([dish("calzone"), dish("margherita", false)]);
  });

  it("lays a change taken during a read over the read's answer", () => {
    let menu = menuReading(menuRead(NO_MENU, [dish("margherita")]));
    menu = menuChanged(menu, { removed: "margherita" });
    menu = menuRead(menu, [dish("margherita")]);
    expect(menu).toEqual({ items: [], during: null });
    expect(menuRead(menuReading(menu), null)).toEqual({ items: [], during: null });
  });
});
