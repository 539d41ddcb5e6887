/**
 * The page's configuration, read once at start from /config.json: in the cloud
 * `make deploy` writes it from the stack's outputs; locally public/config.json
 * names the local API and its development sign-in.
 */
export interface AppConfig {
  /** The API's base URL, with its stage, without a trailing slash. */
  readonly apiUrl: string;
  /** The OpenID issuer: Cognito's user pool, or the local development sign-in. */
  readonly authority: string;
  readonly clientId: string;
  /** The scopes to ask for, space-separated, with the issuer's prefix. */
  readonly scopes: string;
  /** What the issuer puts before the API's scope names (Cognito: "orders-api/"). */
  readonly scopePrefix: string;
  /** Where to end the issuer's session after signing out (Cognito's /logout), or "". */
  readonly signOutUrl: string;
  /** Where sign-out revokes the refresh token (Cognito's /oauth2/revoke, RFC 7009), or "". */
  readonly revokeUrl: string;
  /** The live orders WebSocket (ws: or wss:, SPEC "Live orders"), or "": live updates off. */
  readonly wsUrl: string;
}

function text(raw: Record<string, unknown>, name: keyof AppConfig, required: boolean): string {
  const value = raw[name];
  if (value === undefined && !required) return "";
  if (typeof value !== "string" || (required && value === "")) {
    throw new Error(`config.json: "${name}" must be a non-empty string`);
  }
  return value;
}

function httpUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`config.json: "${name}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`config.json: "${name}" must be an http(s) URL`);
  }
  return value.replace(/\/+$/, "");
}

function wsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('config.json: "wsUrl" is not a URL');
  }
  // The token goes in the query string (browsers cannot set headers on a WebSocket): the
  // page adds it, so a configured query or fragment would be a mistake.
  if ((url.protocol !== "wss:" && url.protocol !== "ws:") || url.search !== "" || url.hash !== "") {
    throw new Error('config.json: "wsUrl" must be a ws(s) URL without a query');
  }
  return value.replace(/\/+$/, "");
}

export function parseConfig(raw: unknown): AppConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error("config.json must hold an object");
  }
  const fields = raw as Record<string, unknown>;
  const signOutUrl = text(fields, "signOutUrl", false);
  const revokeUrl = text(fields, "revokeUrl", false);
  const ws = text(fields, "wsUrl", false);
  return {
    apiUrl: httpUrl(text(fields, "apiUrl", true), "apiUrl"),
    authority: httpUrl(text(fields, "authority", true), "authority"),
    clientId: text(fields, "clientId", true),
    scopes: text(fields, "scopes", true),
    scopePrefix: text(fields, "scopePrefix", false),
    signOutUrl: signOutUrl === "" ? "" : httpUrl(signOutUrl, "signOutUrl"),
    revokeUrl: revokeUrl === "" ? "" : httpUrl(revokeUrl, "revokeUrl"),
    wsUrl: ws === "" ? "" : wsUrl(ws),
  };
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch("/config.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json could not be loaded (HTTP ${response.status})`);
  return parseConfig(await response.json());
}
