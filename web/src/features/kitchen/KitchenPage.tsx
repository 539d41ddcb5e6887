import { useCallback, useEffect, useState } from "react";

import { useApi } from "../../api/ApiProvider";
import { ok, orderNumber, type Order } from "../../api/client";
import { ApiError } from "../../api/problems";
import { ErrorNote } from "../../components/ErrorNote";
import { useLive } from "../../live/LiveProvider";
import { readDone, readFailed, reading, receive, tracked, type Tracked } from "../../live/versions";
import { useAuth } from "../auth/AuthProvider";
import { byStatus, COLUMNS, moveOrder, placeOnBoard } from "./board";

// A kitchen screen stays open: without live updates it re-reads on its own now and then.
const REFRESH_MS = 30_000;

function minutesAgo(created: string): string {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(created)) / 60_000));
  return minutes === 0 ? "just now" : `${minutes} min ago`;
}

export function KitchenPage() {
  const api = useApi();
  const { expire } = useAuth();
  const [board, setBoard] = useState<Tracked<Order>>(tracked);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const fail = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.signInAgain) expire();
      setFailure(error);
    },
    [expire],
  );

  const read = useCallback(async () => {
    setLoading(true);
    setBoard(reading);
    try {
      const { data } = await ok(api.GET("/kitchen/orders"));
      setBoard((current) => readDone(current, data.items, placeOnBoard));
      setFailure(null);
    } catch (error) {
      setBoard(readFailed);
      fail(error);
    } finally {
      setLoading(false);
    }
  }, [api, fail]);

  // New orders and other cooks' moves arrive by themselves; served and cancelled ones leave.
  const live = useLive(
    (message) => {
      if (message.type === "order") setBoard((current) => receive(current, message.order, placeOnBoard));
    },
    () => void read(),
  );

  useEffect(() => {
    const first = setTimeout(() => void read(), 0);
    const timer = live ? undefined : setInterval(() => void read(), REFRESH_MS);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [read, live]);

  const move = async (order: Order) => {
    setBusy(order.id);
    setNotice(null);
    try {
      const result = await moveOrder(api, order);
      if (result.kind === "stale") {
        setNotice(result.message);
        await read();
      } else {
        setBoard((current) => receive(current, result.order, placeOnBoard));
      }
    } catch (error) {
      fail(error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section aria-busy={loading} data-state={loading ? "loading" : "ready"}>
      <h1 tabIndex={-1}>Kitchen board</h1>
      <p>
        <button type="button" onClick={() => void read()} disabled={loading}>
          Refresh
        </button>
      </p>
      {notice !== null && (
        <p role="alert" className="warning">
          {notice}
        </p>
      )}
      <ErrorNote error={failure} />
      <div className="board">
        {COLUMNS.map((column) => {
          const cards = byStatus(board.items, column.status);
          return (
            <section key={column.status} className="column" aria-labelledby={`col-${column.status}`}>
              <h2 id={`col-${column.status}`}>
                {column.title} <span className="count">{cards.length}</span>
              </h2>
              <ul>
                {cards.map((order) => (
                  <li key={order.id} className="card" data-order={order.id}>
                    <div className="order-head">
                      <strong>{orderNumber(order.id)}</strong>
                      <span className="muted">
                        {order.customer} · {minutesAgo(order.created_at)}
                      </span>
                    </div>
                    <ul className="card-lines">
                      {order.lines.map((line) => (
                        <li key={line.item_id}>
                          {line.quantity} × {line.name}
                        </li>
                      ))}
                    </ul>
                    {order.note !== null && <p className="note">“{order.note}”</p>}
                    <button
                      type="button"
                      disabled={busy === order.id}
                      aria-label={`${column.action}: order ${orderNumber(order.id)}`}
                      onClick={() => void move(order)}
                    >
                      {column.action}
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          );
        })}
      </div>
    </section>
  );
}
