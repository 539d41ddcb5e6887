import { describe, expect, it } from "vitest";

import type { Order } from "../api/client";
import { placeOnBoard } from "../features/kitchen/board";
import { readDone, readFailed, reading, receive, tracked } from "./versions";

function order(id: string, version: number, status: Order["status"]): Order {
  return {
    id,
    customer: "alice",
    status,
    lines: [],
    total_cents: 0,
    note: null,
    created_at: "2026-12-05T12:00:00Z",
    updated_at: "2026-12-05T12:00:00Z",
    version,
  };
}

const board = (state: { items: readonly Order[] }) => state.items.map((o) => `${o.id}:${o.status}`);

describe("changes applied by version", () => {
  it("shows a new order, then each newer move; drops a repeated or stale one", () => {
    let state = tracked<Order>();
    state = receive(state, order("B", 1, "placed"), placeOnBoard);
    state = receive(state, order("A", 1, "placed"), placeOnBoard);
    expect(board(state)).toEqual(["A:placed", "B:placed"]);
    state = receive(state, order("A", 3, "ready"), placeOnBoard);
    const after = receive(state, order("A", 2, "preparing"), placeOnBoard);
    expect(after).toBe(state);
    expect(receive(state, order("A", 3, "ready"), placeOnBoard)).toBe(state);
    expect(board(state)).toEqual(["A:ready", "B:placed"]);
  });

  it("lets a served or cancelled order leave for good, even if an older change comes again", () => {
    let state = tracked([order("A", 3, "ready"), order("B", 1, "placed")]);
    state = receive(state, order("A", 4, "served"), placeOnBoard);
    state = receive(state, order("B", 2, "cancelled"), placeOnBoard);
    expect(board(state)).toEqual([]);
    state = receive(state, order("A", 3, "ready"), placeOnBoard);
    expect(board(state)).toEqual([]);
  });

  it("lays changes taken during a read over its answer, and never lets an older read undo one", () => {
    let state = reading(tracked([order("A", 1, "placed")]));
    state = receive(state, order("A", 2, "preparing"), placeOnBoard);
    state = receive(state, order("C", 1, "placed"), placeOnBoard);
    // The read was answered before those changes: A still placed, C not yet there.
    state = readDone(state, [order("A", 1, "placed"), order("B", 1, "placed")], placeOnBoard);
    expect(board(state)).toEqual(["A:preparing", "B:placed", "C:placed"]);
    expect(state.during).toBeNull();
    // A served order a lagging read still lists stays gone.
    state = receive(state, order("B", 2, "served"), placeOnBoard);
    state = readDone(reading(state), [order("A", 2, "preparing"), order("B", 1, "placed")], placeOnBoard);
    expect(board(state)).toEqual(["A:preparing"]);
  });

  it("takes the read as the truth for what it does not list and nothing newer says otherwise", () => {
    let state = tracked([order("A", 1, "placed"), order("B", 2, "preparing")]);
    state = readDone(reading(state), [order("B", 3, "ready")], placeOnBoard);
    expect(board(state)).toEqual(["B:ready"]);
    expect(receive(state, order("B", 3, "ready"), placeOnBoard)).toBe(state);
    expect(readFailed(reading(state)).during).toBeNull();
  });
});
