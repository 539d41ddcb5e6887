import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { addItem, loadCart, saveCart, setQuantity, type CartLine } from "./cart";

interface Cart {
  readonly lines: readonly CartLine[];
  readonly add: (itemId: string) => void;
  readonly set: (itemId: string, quantity: number) => void;
  readonly clear: () => void;
}

const CartContext = createContext<Cart | null>(null);

export function CartProvider({ children }: { children: ReactNode }) {
  const [lines, setLines] = useState<CartLine[]>(() => loadCart(window.sessionStorage));
  useEffect(() => {
    saveCart(window.sessionStorage, lines);
  }, [lines]);
  const cart = useMemo<Cart>(
    () => ({
      lines,
      add: (itemId) => {
        setLines((current) => addItem(current, itemId));
      },
      set: (itemId, quantity) => {
        setLines((current) => setQuantity(current, itemId, quantity));
      },
      clear: () => {
        setLines([]);
      },
    }),
    [lines],
  );
  return <CartContext.Provider value={cart}>{children}</CartContext.Provider>;
}

export function useCart(): Cart {
  const cart = useContext(CartContext);
  if (cart === null) throw new Error("useCart outside CartProvider");
  return cart;
}
