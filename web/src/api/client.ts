/**
 * The API client: generated types (schema.d.ts, from the app's /openapi.json,
 * never edited by hand) with openapi-fetch, plus the bearer token.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import { ApiError, describeFailure, retryAfterSeconds } from "./problems";
import type { components, paths } from "./schema";

export type Api = Client<paths>;
export type MenuItem = components["schemas"]["MenuItemOut"];
export type Order = components["schemas"]["OrderOut"];
export type OrderStatus = Order["status"];

export function createApi(baseUrl: string, token: () => string | null, fetchImpl?: typeof fetch): Api {
  const client = createClient<paths>(fetchImpl ? { baseUrl, fetch: fetchImpl } : { baseUrl });
  const bearer: Middleware = {
    onRequest({ request }) {
      const current = token();
      if (current !== null) request.headers.set("Authorization", `Bearer ${current}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
}

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call; an ApiError with a sentence otherwise. Network failures stay TypeErrors. */
export async function ok<T>(pending: Promise<Outcome<T>>): Promise<{ data: T; response: Response }> {
  const { data, error, response } = await pending;
  if (!response.ok) {
    const { status, headers } = response;
    throw new ApiError(status, describeFailure(status, error, headers), retryAfterSeconds(headers.get("Retry-After")));
  }
  return { data: data as T, response };
}

/** The If-Match value for an order as last read (the API's ETag is "v{version}"). */
export function ifMatch(order: Pick<Order, "version">): string {
  return `"v${order.version}"`;
}

/** A short, readable order number: the end of the ULID. */
export function orderNumber(id: string): string {
  return `#${id.slice(-6).toUpperCase()}`;
}
