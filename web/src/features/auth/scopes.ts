/**
 * What the signed-in person may do, read from the access token's `scope`
 * claim (the page only decides what to show; the API checks the signature).
 */
export function jwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (part === undefined) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The API's scope names granted by a token, with the issuer's prefix taken off. */
export function grantedScopes(token: string, prefix: string): Set<string> {
  const scope = jwtPayload(token)?.scope;
  if (typeof scope !== "string") return new Set();
  return new Set(
    scope
      .split(" ")
      .filter((s) => s !== "")
      .map((s) => (prefix !== "" && s.startsWith(prefix) ? s.slice(prefix.length) : s)),
  );
}
