import { useEffect, useRef } from "react";

import { ApiProvider } from "./api/ApiProvider";
import type { AppConfig } from "./config";
import { AuthProvider, useAuth } from "./features/auth/AuthProvider";
import { CallbackPage } from "./features/auth/CallbackPage";
import { ChefPage } from "./features/chef/ChefPage";
import { KitchenPage } from "./features/kitchen/KitchenPage";
import { MenuPage } from "./features/menu/MenuPage";
import { itemCount } from "./features/orders/cart";
import { CartProvider, useCart } from "./features/orders/CartProvider";
import { CheckoutPage } from "./features/orders/CheckoutPage";
import { OrdersPage } from "./features/orders/OrdersPage";
import { LiveIndicator, LiveProvider } from "./live/LiveProvider";
import { Link, usePath } from "./router";

/** The page's routes. The CDN's fallback to index.html (template.yaml) serves exactly these paths. */
export const ROUTES = ["/", "/checkout", "/orders", "/kitchen", "/chef", "/callback"] as const;

export function App({ config }: { config: AppConfig }) {
  return (
    <AuthProvider config={config}>
      <ApiProvider baseUrl={config.apiUrl}>
        <LiveProvider url={config.wsUrl}>
          <CartProvider>
            <Shell />
          </CartProvider>
        </LiveProvider>
      </ApiProvider>
    </AuthProvider>
  );
}

function NeedsScope({ scope, what }: { scope: string; what: string }) {
  const auth = useAuth();
  return (
    <section>
      <h1 tabIndex={-1}>{what}</h1>
      {auth.session === null ? (
        <>
          <p>Sign in to see this page.</p>
          <button type="button" onClick={() => void auth.signIn()}>
            Sign in
          </button>
        </>
      ) : (
        <p className="error">
          You are signed in as {auth.session.name} without “{scope}”. Sign in with another role.
        </p>
      )}
    </section>
  );
}

function Page({ path }: { path: string }) {
  const auth = useAuth();
  switch (path) {
    case "/":
      return <MenuPage />;
    case "/checkout":
      return <CheckoutPage />;
    case "/orders":
      return auth.can("orders:read") ? <OrdersPage /> : <NeedsScope scope="orders:read" what="My orders" />;
    case "/kitchen":
      return auth.can("orders:admin") ? <KitchenPage /> : <NeedsScope scope="orders:admin" what="Kitchen board" />;
    case "/chef":
      return auth.can("menu:write") ? <ChefPage /> : <NeedsScope scope="menu:write" what="The chef’s menu" />;
    case "/callback":
      return <CallbackPage />;
    default:
      return (
        <section>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            There is no such page. <Link to="/">See the menu</Link>.
          </p>
        </section>
      );
  }
}

function Shell() {
  const path = usePath();
  const auth = useAuth();
  const cart = useCart();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After a navigation, keyboard and screen-reader users land on the new page's heading.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector("h1")?.focus();
  }, [path]);

  const count = itemCount(cart.lines);
  return (
    <>
      <a className="skip" href="#main">
        Skip to the page
      </a>
      <header className="top">
        <Link to="/" className="brand">
          Serverless Restaurant
        </Link>
        <nav aria-label="Pages">
          <Link to="/">Menu</Link>
          <Link to="/checkout">Checkout{count > 0 ? ` (${count})` : ""}</Link>
          {auth.can("orders:read") && <Link to="/orders">My orders</Link>}
          {auth.can("orders:admin") && <Link to="/kitchen">Kitchen</Link>}
          {auth.can("menu:write") && <Link to="/chef">Chef</Link>}
        </nav>
        <div className="who">
          {auth.session === null ? (
            <button type="button" onClick={() => void auth.signIn()}>
              Sign in
            </button>
          ) : (
            <>
              <LiveIndicator />
              <span className="muted">{auth.session.name}</span>
              <button type="button" className="secondary" onClick={() => void auth.signOut()}>
                Sign out
              </button>
            </>
          )}
        </div>
      </header>
      {auth.notice !== null && (
        <div role="alert" className="error banner">
          <p>{auth.notice}</p>
          <button type="button" onClick={() => void auth.signIn()}>
            Sign in again
          </button>
        </div>
      )}
      <main id="main" ref={main}>
        <Page path={path} />
      </main>
    </>
  );
}
