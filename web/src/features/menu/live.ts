/**
 * The menu's live changes (SPEC "Live orders"): a dish as `GET /menu/{id}` returns it,
 * or a removed dish's id. Dishes carry no version, so changes apply in arrival order;
 * the ones that arrive while a read is under way are laid over its answer.
 */
import type { MenuItem } from "../../api/client";

export type MenuChange = { readonly item: MenuItem } | { readonly removed: string };

export interface Menu {
  /** undefined until the first read answers. */
  readonly items: readonly MenuItem[] | undefined;
  readonly during: readonly MenuChange[] | null;
}

export const NO_MENU: Menu = { items: undefined, during: null };

/**
 * A dish shown as a fresh read would show it: in id order (as `GET /menu` lists them),
 * an unavailable one kept (the page leaves it out, as it does on a read), a removed one gone.
 */
export function applyMenuChange(items: readonly MenuItem[], change: MenuChange): MenuItem[] {
  if ("removed" in change) return items.filter((item) => item.id !== change.removed);
  const others = items.filter((item) => item.id !== change.item.id);
  return [...others, change.item].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function menuChanged(menu: Menu, change: MenuChange): Menu {
  return {
    items: menu.items === undefined ? undefined : applyMenuChange(menu.items, change),
    during: menu.during === null ? null : [...menu.during, change],
  };
}

export function menuReading(menu: Menu): Menu {
  return { ...menu, during: menu.during ?? [] };
}

export function menuRead(menu: Menu, items: readonly MenuItem[] | null): Menu {
  if (items === null) return { ...menu, during: null };
  return { items: (menu.during ?? []).reduce(applyMenuChange, [...items]), during: null };
}
