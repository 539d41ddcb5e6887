import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { LiveConnection, MAX_LIFETIME_MS, PING, PING_MS, POLL_MS, RENEW_MARGIN_MS, type SocketLike } from "./connection";
import type { LiveMessage } from "./messages";

/** A browser WebSocket stand-in the test drives: open it, send it frames, drop it. */
class FakeSocket implements SocketLike {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  readonly sent: string[] = [];
  closed: number | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number): void {
    this.closed = code ?? 1005;
  }
  accept(): void {
    this.onopen?.();
  }
  frame(data: unknown): void {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
  drop(): void {
    this.onclose?.();
  }
}

const T0 = Date.parse("2026-12-05T12:00:00Z");

function token(expSeconds: number): string {
  const payload = btoa(JSON.stringify({ sub: "cook", exp: expSeconds })).replace(/=+$/, "");
  return `h.${payload}.s`;
}

function harness(current: { token: string | null }, random = () => 0.5) {
  const sockets: FakeSocket[] = [];
  const events: string[] = [];
  const messages: LiveMessage[] = [];
  const connection = new LiveConnection({
    url: "ws://127.0.0.1:8000/ws",
    token: () => current.token,
    random,
    open: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    listener: {
      state: (s) => events.push(`state:${s}`),
      message: (m) => messages.push(m),
      resync: () => events.push("resync"),
      expired: () => events.push("expired"),
    },
  });
  const last = () => {
    const socket = sockets.at(-1);
    if (socket === undefined) throw new Error("no socket opened");
    return socket;
  };
  return { connection, sockets, events, messages, last };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the live connection", () => {
  it("connects with the token in the query, says Live, re-reads once and hands on changes", () => {
    const t = token(T0 / 1000 + 3600);
    const { connection, events, messages, last } = harness({ token: t });
    connection.start();
    expect(last().url).toBe(`ws://127.0.0.1:8000/ws?token=${encodeURIComponent(t)}`);
    last().accept();
    expect(events).toEqual(["state:reconnecting", "state:live", "resync"]);
    const order = { id: "A", version: 2, status: "preparing", lines: [] };
    last().frame({ type: "order", order });
    last().frame({ type: "menu", removed: "tiramisu" });
    last().frame({ type: "pong" });
    last().onmessage?.({ data: "not json" });
    expect(messages).toEqual([
      { type: "order", order },
      { type: "menu", removed: "tiramisu" },
    ]);
  });

  it("pings every 5 minutes while open, so API Gateway's 10-minute idle cut-off never comes", () => {
    const { connection, last } = harness({ token: token(T0 / 1000 + 3600) });
    connection.start();
    last().accept();
    vi.advanceTimersByTime(PING_MS - 1);
    expect(last().sent).toEqual([]);
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(PING_MS);
    expect(last().sent).toEqual([PING, PING]);
    expect(JSON.parse(PING)).toEqual({ action: "ping" });
  });

  it("after a drop: Reconnecting, backs off with jitter, reads every 15 s meanwhile, re-reads once on reconnect", () => {
    const draws = [0.5, 0.25];
    const { connection, sockets, events, last } = harness({ token: token(T0 / 1000 + 3600) }, () => draws.shift() ?? 0);
    connection.start();
    last().accept();
    events.length = 0;
    last().drop();
    expect(events).toEqual(["state:reconnecting"]);
    // First retry: half of the 1 s ceiling.
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    last().drop(); // refused or unreachable: the next ceiling is 2 s, a quarter of it drawn
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    // Still down: the pages read every 15 s.
    last().drop();
    vi.advanceTimersByTime(POLL_MS - 1000);
    expect(events.filter((e) => e === "resync")).toHaveLength(1);
    last().accept();
    expect(events.slice(-2)).toEqual(["state:live", "resync"]);
    // Up again: no more polling.
    const reads = events.length;
    vi.advanceTimersByTime(3 * POLL_MS);
    expect(events).toHaveLength(reads);
  });

  it("reads every 15 s for as long as the socket stays down", () => {
    const { connection, events, last } = harness({ token: token(T0 / 1000 + 3600) });
    connection.start();
    last().drop(); // never came up; the retry hangs, as a half-open TCP connection does
    vi.advanceTimersByTime(3 * POLL_MS);
    expect(events.filter((e) => e === "resync")).toHaveLength(3);
    last().accept();
    vi.advanceTimersByTime(3 * POLL_MS);
    expect(events.filter((e) => e === "resync")).toHaveLength(4);
  });

  it("replaces the socket before 2 hours with the session's current token", () => {
    const current = { token: token(T0 / 1000 + 8 * 3600) as string | null };
    const { connection, sockets, last } = harness(current);
    connection.start();
    last().accept();
    current.token = token(T0 / 1000 + 9 * 3600);
    vi.advanceTimersByTime(MAX_LIFETIME_MS - RENEW_MARGIN_MS - 1);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    expect(sockets[0]?.closed).toBe(1000);
    expect(last().url).toContain(encodeURIComponent(current.token));
  });

  it("replaces the socket before the token expires, and without a newer token ends the session at exp", () => {
    const current = { token: token(T0 / 1000 + 600) as string | null };
    const { connection, sockets, events, last } = harness(current);
    connection.start();
    last().accept();
    vi.advanceTimersByTime(600_000 - RENEW_MARGIN_MS);
    expect(sockets).toHaveLength(1); // the same token: nothing to reconnect with
    vi.advanceTimersByTime(RENEW_MARGIN_MS);
    expect(events.slice(-2)).toEqual(["state:off", "expired"]);
    expect(sockets[0]?.closed).toBe(1000);
  });

  it("never connects with an expired token: the session is over, signing in again is needed", () => {
    const { connection, sockets, events } = harness({ token: token(T0 / 1000 - 1) });
    connection.start();
    expect(sockets).toHaveLength(0);
    expect(events).toEqual(["state:reconnecting", "state:off", "expired"]);
  });

  it("takes a token without exp (not a JWT) for up to 2 hours", () => {
    const { connection, sockets, last } = harness({ token: "opaque" });
    connection.start();
    last().accept();
    vi.advanceTimersByTime(MAX_LIFETIME_MS - RENEW_MARGIN_MS);
    expect(sockets).toHaveLength(2);
    expect(sockets[0]?.closed).toBe(1000);
  });

  it("closes on sign-out and stays closed", () => {
    const { connection, sockets, events, last } = harness({ token: token(T0 / 1000 + 3600) });
    connection.start();
    last().accept();
    connection.stop();
    expect(sockets[0]?.closed).toBe(1000);
    expect(events.at(-1)).toBe("state:off");
    last().drop();
    vi.advanceTimersByTime(10 * POLL_MS);
    expect(sockets).toHaveLength(1);
    expect(events.at(-1)).toBe("state:off");
  });
});
