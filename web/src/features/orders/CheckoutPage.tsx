import { useCallback, useMemo, useRef, useState } from "react";

import { useApi } from "../../api/ApiProvider";
import { orderNumber, type Order } from "../../api/client";
import { ApiError } from "../../api/problems";
import { ErrorNote } from "../../components/ErrorNote";
import { formatPrice } from "../../components/price";
import { useLoad } from "../../components/useLoad";
import { Link } from "../../router";
import { useAuth } from "../auth/AuthProvider";
import { fetchMenu } from "../menu/api";
import { estimatedTotal } from "./cart";
import { useCart } from "./CartProvider";
import { cartFingerprint, CheckoutKeys, placeOrder } from "./checkout";

export function CheckoutPage() {
  const api = useApi();
  const auth = useAuth();
  const cart = useCart();
  const menu = useLoad(useCallback(() => fetchMenu(api), [api]));
  const [note, setNote] = useState("");
  const [placing, setPlacing] = useState(false);
  const [placed, setPlaced] = useState<Order | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const keys = useMemo(() => new CheckoutKeys(window.sessionStorage), []);
  // A second click while the first is on its way does nothing (the key would make it harmless anyway).
  const inFlight = useRef(false);

  const names = new Map(menu.data?.map((item) => [item.id, item]) ?? []);
  const total = estimatedTotal(cart.lines, menu.data ?? []);

  const submit = async () => {
    if (inFlight.current || cart.lines.length === 0) return;
    inFlight.current = true;
    setPlacing(true);
    setFailure(null);
    const key = keys.keyFor(cartFingerprint(cart.lines, note));
    try {
      const order = await placeOrder(api, cart.lines, note, key);
      keys.done();
      cart.clear();
      setNote("");
      setPlaced(order);
    } catch (error) {
      if (error instanceof ApiError && error.signInAgain) auth.expire();
      setFailure(error);
    } finally {
      inFlight.current = false;
      setPlacing(false);
    }
  };

  if (placed !== null) {
    return (
      <section>
        <h1 tabIndex={-1}>Thank you!</h1>
        <p role="status" className="success">
          Order {orderNumber(placed.id)} is placed: {formatPrice(placed.total_cents)}.
        </p>
        <p>
          <Link to="/orders" className="button">
            Follow my orders
          </Link>{" "}
          <Link to="/">Back to the menu</Link>
        </p>
      </section>
    );
  }

  return (
    <section data-state={menu.loading ? "loading" : "ready"}>
      <h1 tabIndex={-1}>Checkout</h1>
      <ErrorNote error={menu.error} />
      {cart.lines.length === 0 ? (
        <p>
          Your order is empty. <Link to="/">Choose from the menu</Link>.
        </p>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <ul className="cart">
            {cart.lines.map((line) => {
              const item = names.get(line.itemId);
              const name = item?.name ?? line.itemId;
              return (
                <li key={line.itemId}>
                  <span className="dish-name">{name}</span>
                  <span className="quantity">
                    <button
                      type="button"
                      aria-label={`One ${name} less`}
                      onClick={() => {
                        cart.set(line.itemId, line.quantity - 1);
                      }}
                    >
                      −
                    </button>
                    <output aria-label={`${name} quantity`}>{line.quantity}</output>
                    <button
                      type="button"
                      aria-label={`One ${name} more`}
                      onClick={() => {
                        cart.set(line.itemId, line.quantity + 1);
                      }}
                    >
                      +
                    </button>
                  </span>
                  <span className="dish-price">
                    {item ? formatPrice(item.price_cents * line.quantity) : ""}
                  </span>
                </li>
              );
            })}
          </ul>
          <p className="total">
            Total <strong>{formatPrice(total)}</strong>
          </p>
          <label htmlFor="note">A note for the kitchen (optional)</label>
          <textarea
            id="note"
            maxLength={500}
            rows={2}
            value={note}
            onChange={(event) => {
              setNote(event.target.value);
            }}
          />
          <ErrorNote error={failure} />
          {auth.session === null ? (
            <button type="button" onClick={() => void auth.signIn("/checkout")}>
              Sign in to place the order
            </button>
          ) : !auth.can("orders:write") ? (
            <p className="error">You are signed in without the right to order. Sign in as a customer.</p>
          ) : (
            <button type="submit" disabled={placing}>
              {placing ? "Placing the order…" : `Place order (${formatPrice(total)})`}
            </button>
          )}
        </form>
      )}
    </section>
  );
}
