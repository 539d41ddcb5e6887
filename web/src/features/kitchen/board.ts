/** The kitchen's board: open orders in columns, each moved one step at a time with If-Match. */
import { ifMatch, ok, orderNumber, type Api, type Order, type OrderStatus } from "../../api/client";
import { ApiError } from "../../api/problems";

export const COLUMNS = [
  { status: "placed", title: "Placed", action: "Start preparing" },
  { status: "preparing", title: "Preparing", action: "Mark ready" },
  { status: "ready", title: "Ready", action: "Mark served" },
] as const;

const NEXT: Partial<Record<OrderStatus, OrderStatus>> = {
  placed: "preparing",
  preparing: "ready",
  ready: "served",
};

export function nextStatus(status: OrderStatus): OrderStatus | null {
  return NEXT[status] ?? null;
}

/**
 * Where a changed order goes on the board: in its column, oldest first (ULIDs sort by
 * time, as the API lists them); served and cancelled orders leave.
 */
export function placeOnBoard(orders: readonly Order[], order: Order): Order[] {
  const others = orders.filter((o) => o.id !== order.id);
  if (nextStatus(order.status) === null) return others;
  return [...others, order].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function byStatus(orders: readonly Order[], status: OrderStatus): Order[] {
  return orders.filter((o) => o.status === status);
}

export type MoveResult = { kind: "moved"; order: Order } | { kind: "stale"; message: string };

/**
 * Move an order one step, conditional on the version the board shows. When
 * someone else moved it first (412) or the move no longer applies (409), the
 * result says so and the board re-reads rather than overwrite their change.
 */
export async function moveOrder(api: Api, order: Order): Promise<MoveResult> {
  const next = nextStatus(order.status);
  if (next === null) throw new Error(`order ${orderNumber(order.id)} cannot move from ${order.status}`);
  try {
    const { data } = await ok(
      api.PATCH("/orders/{order_id}", {
        params: { path: { order_id: order.id }, header: { "if-match": ifMatch(order) } },
        body: { status: next },
      }),
    );
    return { kind: "moved", order: data };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 412 || error.status === 409)) {
      return {
        kind: "stale",
        message: `Order ${orderNumber(order.id)} was changed by someone else first. The board has been refreshed.`,
      };
    }
    throw error;
  }
}
