import { useCallback, useEffect, useState } from "react";

import { useApi } from "../../api/ApiProvider";
import { ApiError } from "../../api/problems";
import { ErrorNote } from "../../components/ErrorNote";
import { formatPrice } from "../../components/price";
import { useLive } from "../../live/LiveProvider";
import { Link } from "../../router";
import { useAuth } from "../auth/AuthProvider";
import { itemCount } from "../orders/cart";
import { useCart } from "../orders/CartProvider";
import { fetchMenu } from "./api";
import { menuChanged, menuRead, menuReading, NO_MENU, type Menu } from "./live";

export function MenuPage() {
  const api = useApi();
  const cart = useCart();
  const { expire } = useAuth();
  const [menu, setMenu] = useState<Menu>(NO_MENU);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<unknown>(null);
  const count = itemCount(cart.lines);
  // What a customer can order today: a dish the chef marks unavailable leaves the page
  // (issue 24), on a read and on a live change alike, so the two never disagree.
  const dishes = menu.items?.filter((item) => item.available);

  const read = useCallback(async () => {
    setLoading(true);
    setMenu(menuReading);
    try {
      const items = await fetchMenu(api);
      setMenu((current) => menuRead(current, items));
      setFailure(null);
    } catch (error) {
      setMenu((current) => menuRead(current, null));
      if (error instanceof ApiError && error.signInAgain) expire();
      setFailure(error);
    } finally {
      setLoading(false);
    }
  }, [api, expire]);

  // A dish the chef changes or removes shows so at once.
  useLive(
    (message) => {
      if (message.type === "menu") setMenu((current) => menuChanged(current, message));
    },
    () => void read(),
  );

  useEffect(() => {
    const first = setTimeout(() => void read(), 0);
    return () => {
      clearTimeout(first);
    };
  }, [read]);

  return (
    <section aria-busy={loading} data-state={loading ? "loading" : "ready"}>
      <h1 tabIndex={-1}>Menu</h1>
      <ErrorNote error={failure} />
      {dishes?.length === 0 && <p>The menu is empty today.</p>}
      <ul className="menu">
        {dishes?.map((item) => {
          const inCart = cart.lines.find((l) => l.itemId === item.id)?.quantity ?? 0;
          return (
            <li key={item.id} className="dish" data-dish={item.id}>
              <div className="dish-text">
                <span className="dish-name">{item.name}</span>
                <span className="dish-price">{formatPrice(item.price_cents)}</span>
              </div>
              <button
                type="button"
                aria-label={`Add ${item.name} to the order`}
                onClick={() => {
                  cart.add(item.id);
                }}
              >
                {inCart > 0 ? `Add (${inCart})` : "Add"}
              </button>
            </li>
          );
        })}
      </ul>
      {count > 0 && (
        <p className="sticky-action">
          <Link to="/checkout" className="button">
            Checkout ({count} {count === 1 ? "item" : "items"})
          </Link>
        </p>
      )}
    </section>
  );
}
