import { describe, expect, it } from "vitest";

import { createApi, type Order } from "../../api/client";
import { byStatus, moveOrder, nextStatus } from "./board";

const order: Order = {
  id: "01JDQ3V8Y6Q0W6D3W6X4T9M2KZ",
  customer: "alice",
  status: "placed",
  lines: [],
  total_cents: 0,
  note: null,
  created_at: "2026-11-30T12:00:00Z",
  updated_at: "2026-11-30T12:00:00Z",
  version: 3,
};

describe("the kitchen board", () => {
  it("moves placed -> preparing -> ready -> served and no further", () => {
    expect(nextStatus("placed")).toBe("preparing");
    expect(nextStatus("preparing")).toBe("ready");
    expect(nextStatus("ready")).toBe("served");
    expect(nextStatus("served")).toBeNull();
    expect(nextStatus("cancelled")).toBeNull();
    expect(byStatus([order, { ...order, id: "x", status: "ready" }], "ready").map((o) => o.id)).toEqual(["x"]);
  });

  it("sends If-Match with the version it shows", async () => {
    let sent: Request | undefined;
    const fetchImpl = (request: Request) => {
      sent = request;
      return Promise.resolve(Response.json({ ...order, status: "preparing", version: 4 }));
    };
    const result = await moveOrder(createApi("http://api.test", () => "t", fetchImpl as typeof fetch), order);
    expect(result).toMatchObject({ kind: "moved", order: { status: "preparing", version: 4 } });
    expect(sent?.method).toBe("PATCH");
    expect(sent?.headers.get("If-Match")).toBe('"v3"');
    expect(await sent?.json()).toEqual({ status: "preparing" });
  });

  it("turns a 412 into a sentence and a re-read, never an overwrite", async () => {
    const fetchImpl = () =>
      Promise.resolve(Response.json({ status: 412, detail: "stale", title: "x", type: "x" }, { status: 412 }));
    const result = await moveOrder(createApi("http://api.test", () => "t", fetchImpl), order);
    expect(result).toEqual({
      kind: "stale",
      message: "Order #T9M2KZ was changed by someone else first. The board has been refreshed.",
    });
  });

  it("lets other failures through as errors", async () => {
    const fetchImpl = () => Promise.resolve(Response.json({ status: 403, detail: "x" }, { status: 403 }));
    await expect(
      moveOrder(createApi("http://api.test", () => "t", fetchImpl as typeof fetch), order),
    ).rejects.toThrow("without permission");
  });
});
