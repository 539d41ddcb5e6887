/**
 * What the server sends on the live orders socket (SPEC "Live orders"): an order
 * exactly as `GET /orders/{id}` returns it, a dish as `GET /menu/{id}` returns it, or a
 * removed dish's id. Anything else (`pong`, `error`, a frame this page does not know)
 * is ignored.
 */
import type { MenuItem, Order } from "../api/client";

export type LiveMessage =
  | { readonly type: "order"; readonly order: Order }
  | { readonly type: "menu"; readonly item: MenuItem }
  | { readonly type: "menu"; readonly removed: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isOrder(value: unknown): value is Order {
  return (
    isObject(value) &&
    typeof value.id === "string" &&
    typeof value.version === "number" &&
    typeof value.status === "string" &&
    Array.isArray(value.lines)
  );
}

function isMenuItem(value: unknown): value is MenuItem {
  return isObject(value) && typeof value.id === "string" && typeof value.available === "boolean";
}

export function parseMessage(data: unknown): LiveMessage | null {
  if (typeof data !== "string") return null;
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(frame)) return null;
  if (frame.type === "order" && isOrder(frame.order)) return { type: "order", order: frame.order };
  if (frame.type === "menu" && isMenuItem(frame.item)) return { type: "menu", item: frame.item };
  if (frame.type === "menu" && typeof frame.removed === "string") return { type: "menu", removed: frame.removed };
  return null;
}
