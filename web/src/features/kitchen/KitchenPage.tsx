import { useCallback, useEffect, useState } from "react";

import { useApi } from "../../api/ApiProvider";
import { ok, orderNumber, type Order } from "../../api/client";
import { ApiError } from "../../api/problems";
import { ErrorNote } from "../../components/ErrorNote";
import { useAuth } from "../auth/AuthProvider";
import { byStatus, COLUMNS, moveOrder } from "./board";

// A kitchen screen stays open: it re-reads on its own now and then.
const REFRESH_MS = 30_000;

function minutesAgo(created: string): string {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(created)) / 60_000));
  return minutes === 0 ? "just now" : `${minutes} min ago`;
}

export function KitchenPage() {
  const api = useApi();
  const { expire } = useAuth();
  const [orders, setOrders] = useState<Order[] | null>(null);
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
    try {
      const { data } = await ok(api.GET("/kitchen/orders"));
      setOrders(data.items);
      setFailure(null);
    } catch (error) {
      fail(error);
    } finally {
      setLoading(false);
    }
  }, [api, fail]);

  useEffect(() => {
    let live = true;
    const load = () =>
      ok(api.GET("/kitchen/orders")).then(
        ({ data }) => {
          if (!live) return;
          setOrders(data.items);
          setLoading(false);
        },
        (error: unknown) => {
          if (!live) return;
          fail(error);
          setLoading(false);
        },
      );
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [api, fail]);

  const move = async (order: Order) => {
    setBusy(order.id);
    setNotice(null);
    try {
      const result = await moveOrder(api, order);
      if (result.kind === "stale") {
        setNotice(result.message);
        await read();
      } else {
        setOrders((current) =>
          (current ?? []).map((o) => (o.id === order.id ? result.order : o)).filter((o) => o.status !== "served"),
        );
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
          const cards = byStatus(orders ?? [], column.status);
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
