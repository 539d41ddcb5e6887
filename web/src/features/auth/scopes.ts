/**
 * What the signed-in person may do, read from the access token's `scope` and
 * `cognito:groups` claims (the page only decides what to show; the API checks
 * the signature and grants the same way).
 */

/**
 * The scopes each user-pool group grants: the API's default APP_AUTH_GROUP_ROLES.
 * People sign in through the web client, which grants customer scopes only; a cook
 * or a chef is one by group (SPEC "Roles in the cloud").
 */
export const GROUP_SCOPES: Readonly<Record<string, readonly string[]>> = {
  staff: ["orders:admin"],
  chef: ["menu:write"],
};
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

/** The API's scope names granted by a token, with the issuer's prefix taken off,
 * and those its groups grant. */
export function grantedScopes(token: string, prefix: string): Set<string> {
  const payload = jwtPayload(token);
  const granted = new Set<string>();
  const scope = payload?.scope;
  if (typeof scope === "string") {
    for (const s of scope.split(" ")) {
      if (s !== "") granted.add(prefix !== "" && s.startsWith(prefix) ? s.slice(prefix.length) : s);
    }
  }
  const groups = payload?.["cognito:groups"];
  if (Array.isArray(groups)) {
    for (const group of groups) {
      if (typeof group === "string" && Object.hasOwn(GROUP_SCOPES, group)) {
        for (const s of GROUP_SCOPES[group] ?? []) granted.add(s);
      }
    }
  }
  return granted;
}
