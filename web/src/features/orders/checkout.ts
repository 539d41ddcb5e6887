/**
 * Placing an order exactly once: one Idempotency-Key per checkout.
 *
 * The key belongs to the cart as it is checked out (its fingerprint): a double
 * click, a retry after a network failure or a reload of the page all send the
 * same key, so the API creates one order and replays it to the others. Only a
 * changed cart, or a finished checkout, gets a new key.
 */
import { ok, type Api, type Order } from "../../api/client";
import { ApiError } from "../../api/problems";
import type { CartLine } from "./cart";

const STORAGE_KEY = "restaurant.checkout";
const ATTEMPTS = 4;

export interface KeyStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function cartFingerprint(cart: readonly CartLine[], note: string): string {
  const lines = [...cart].sort((a, b) => a.itemId.localeCompare(b.itemId)).map((l) => [l.itemId, l.quantity]);
  return JSON.stringify({ lines, note: note.trim() });
}

export class CheckoutKeys {
  private readonly storage: KeyStorage;
  private readonly newKey: () => string;

  constructor(storage: KeyStorage, newKey: () => string = () => crypto.randomUUID()) {
    this.storage = storage;
    this.newKey = newKey;
  }

  /** The key of this checkout: the same while the cart is the same and not yet ordered. */
  keyFor(fingerprint: string): string {
    try {
      const saved = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? "null") as {
        fingerprint?: unknown;
        key?: unknown;
      } | null;
      if (saved?.fingerprint === fingerprint && typeof saved.key === "string") return saved.key;
    } catch {
      // An unreadable record is replaced below.
    }
    const key = this.newKey();
    this.storage.setItem(STORAGE_KEY, JSON.stringify({ fingerprint, key }));
    return key;
  }

  /** The order exists: the next checkout is a new one. */
  done(): void {
    this.storage.removeItem(STORAGE_KEY);
  }
}

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POST /orders with the key, retrying with the same key when retrying is safe:
 * the network failed (the order may or may not exist: the key decides), the
 * first request with this key is still running (409), or the store is busy (503).
 */
export async function placeOrder(
  api: Api,
  cart: readonly CartLine[],
  note: string,
  key: string,
  sleep: Sleep = realSleep,
): Promise<Order> {
  const body = {
    lines: cart.map((l) => ({ item_id: l.itemId, quantity: l.quantity })),
    ...(note.trim() === "" ? {} : { note: note.trim() }),
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const { data } = await ok(api.POST("/orders", { body, params: { header: { "idempotency-key": key } } }));
      return data;
    } catch (error) {
      const retryable =
        error instanceof TypeError || (error instanceof ApiError && (error.status === 409 || error.status === 503));
      if (!retryable || attempt >= ATTEMPTS) throw error;
      await sleep(backoff(error, attempt));
    }
  }
}

function backoff(error: unknown, attempt: number): number {
  if (error instanceof ApiError && error.retryAfter !== null) return error.retryAfter * 1000;
  return 250 * 2 ** (attempt - 1);
}
