import { useCallback } from "react";

import { useApi } from "../../api/ApiProvider";
import { ErrorNote } from "../../components/ErrorNote";
import { formatPrice } from "../../components/price";
import { useLoad } from "../../components/useLoad";
import { Link } from "../../router";
import { itemCount } from "../orders/cart";
import { useCart } from "../orders/CartProvider";
import { fetchMenu } from "./api";

export function MenuPage() {
  const api = useApi();
  const cart = useCart();
  const menu = useLoad(useCallback(() => fetchMenu(api), [api]));
  const count = itemCount(cart.lines);

  return (
    <section aria-busy={menu.loading} data-state={menu.loading ? "loading" : "ready"}>
      <h1 tabIndex={-1}>Menu</h1>
      <ErrorNote error={menu.error} />
      {menu.data?.length === 0 && <p>The menu is empty today.</p>}
      <ul className="menu">
        {menu.data?.map((item) => {
          const inCart = cart.lines.find((l) => l.itemId === item.id)?.quantity ?? 0;
          return (
            <li key={item.id} className={item.available ? "dish" : "dish unavailable"} data-dish={item.id}>
              <div className="dish-text">
                <span className="dish-name">{item.name}</span>
                <span className="dish-price">{formatPrice(item.price_cents)}</span>
                {!item.available && <span className="badge">Unavailable today</span>}
              </div>
              <button
                type="button"
                disabled={!item.available}
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
