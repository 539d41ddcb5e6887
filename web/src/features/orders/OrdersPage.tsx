import { useCallback, useEffect, useState } from "react";

import { useApi } from "../../api/ApiProvider";
import { ifMatch, ok, orderNumber, type Order } from "../../api/client";
import { ApiError } from "../../api/problems";
import { ErrorNote } from "../../components/ErrorNote";
import { formatPrice } from "../../components/price";
import { Status } from "../../components/Status";
import { useLive } from "../../live/LiveProvider";
import { readDone, readFailed, reading, receive, remember, tracked, type Tracked } from "../../live/versions";
import { useAuth } from "../auth/AuthProvider";
import { addPage, placeInOrders } from "./paging";

const PAGE_SIZE = 10;

export function OrdersPage() {
  const api = useApi();
  const { expire } = useAuth();
  const [orders, setOrders] = useState<Tracked<Order>>(tracked);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const fail = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.signInAgain) expire();
      setFailure(error);
    },
    [expire],
  );

  const read = useCallback(
    async (cursor: string | null) => {
      setLoading(true);
      setFailure(null);
      if (cursor === null) setOrders(reading);
      try {
        const query = cursor === null ? { limit: PAGE_SIZE } : { limit: PAGE_SIZE, cursor };
        const { data } = await ok(api.GET("/orders", { params: { query } }));
        setOrders((current) =>
          cursor === null
            ? readDone(current, data.items, placeInOrders)
            : {
                ...current,
                items: addPage({ orders: current.items, nextCursor: null }, data, false).orders,
                seen: remember(current.seen, data.items),
              },
        );
        setNextCursor(data.next_cursor);
      } catch (error) {
        setOrders(readFailed);
        fail(error);
      } finally {
        setLoading(false);
      }
    },
    [api, fail],
  );

  // The kitchen's moves arrive by themselves ("preparing", "ready", ...).
  useLive(
    (message) => {
      if (message.type === "order") setOrders((current) => receive(current, message.order, placeInOrders));
    },
    () => void read(null),
  );

  useEffect(() => {
    const first = setTimeout(() => void read(null), 0);
    return () => {
      clearTimeout(first);
    };
  }, [read]);

  const cancel = async (order: Order) => {
    setNotice(null);
    setFailure(null);
    try {
      const { data } = await ok(
        api.PATCH("/orders/{order_id}", {
          params: { path: { order_id: order.id }, header: { "if-match": ifMatch(order) } },
          body: { status: "cancelled" },
        }),
      );
      setOrders((current) => receive(current, data, placeInOrders));
      setNotice(`Order ${orderNumber(order.id)} is cancelled.`);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 412 || error.status === 409)) {
        setNotice(`Order ${orderNumber(order.id)} changed in the kitchen meanwhile; here is where it stands.`);
        await read(null);
        return;
      }
      fail(error);
    }
  };

  return (
    <section aria-busy={loading} data-state={loading ? "loading" : "ready"}>
      <h1 tabIndex={-1}>My orders</h1>
      <p>
        <button type="button" onClick={() => void read(null)} disabled={loading}>
          Refresh
        </button>
      </p>
      {notice !== null && (
        <p role="status" className="success">
          {notice}
        </p>
      )}
      <ErrorNote error={failure} />
      {!loading && orders.items.length === 0 && failure === null && <p>No orders yet.</p>}
      <ul className="orders">
        {orders.items.map((order) => (
          <li key={order.id} className="order" data-order={order.id}>
            <div className="order-head">
              <strong>{orderNumber(order.id)}</strong> <Status status={order.status} />
              <span className="dish-price">{formatPrice(order.total_cents)}</span>
            </div>
            <p className="order-lines">
              {order.lines.map((line) => `${line.quantity} × ${line.name}`).join(", ")}
            </p>
            <p className="muted">
              <time dateTime={order.created_at}>{new Date(order.created_at).toLocaleString()}</time>
            </p>
            {order.status === "placed" && (
              <button type="button" className="secondary" onClick={() => void cancel(order)}>
                Cancel order {orderNumber(order.id)}
              </button>
            )}
          </li>
        ))}
      </ul>
      {nextCursor !== null && (
        <button type="button" onClick={() => void read(nextCursor)} disabled={loading}>
          Show older orders
        </button>
      )}
    </section>
  );
}
