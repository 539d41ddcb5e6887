/**
 * Sign-in: OAuth 2.0 authorization code with PKCE through oidc-client-ts, one
 * code path for Cognito's managed login in the cloud and the local development
 * sign-in. Tokens live in session storage (this tab only, gone when it closes),
 * never in a cookie; nothing renews them silently: an expired session asks the
 * person to sign in again. Signing out revokes the refresh token, so a copy of
 * it is worth nothing afterwards.
 */
import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";

import type { AppConfig } from "../../config";
import { grantedScopes } from "./scopes";

export interface Session {
  readonly accessToken: string;
  readonly name: string;
  readonly scopes: ReadonlySet<string>;
}

export function createUserManager(config: AppConfig): UserManager {
  const store = new WebStorageStateStore({ store: window.sessionStorage });
  return new UserManager({
    authority: config.authority,
    client_id: config.clientId,
    redirect_uri: `${window.location.origin}/callback`,
    post_logout_redirect_uri: `${window.location.origin}/`,
    response_type: "code",
    scope: config.scopes,
    userStore: store,
    stateStore: store,
    automaticSilentRenew: false,
    monitorSession: false,
    loadUserInfo: false,
  });
}

export function sessionOf(user: User | null, config: AppConfig): Session | null {
  if (user === null || user.expired === true) return null;
  const profile = user.profile;
  const name =
    (typeof profile.preferred_username === "string" && profile.preferred_username) ||
    (typeof profile.email === "string" && profile.email) ||
    profile.sub;
  return { accessToken: user.access_token, name, scopes: grantedScopes(user.access_token, config.scopePrefix) };
}

/** Where to go after signing in: a path of this site, never another origin. */
export function returnPath(state: unknown): string {
  const path = (state as { returnTo?: unknown } | null)?.returnTo;
  return typeof path === "string" && path.startsWith("/") && !path.startsWith("//") ? path : "/";
}

/**
 * Revoke the session's refresh token at the issuer (RFC 7009), as Cognito's
 * /oauth2/revoke takes it from a public client: the refresh token and the client id,
 * no token_type_hint (it revokes the access tokens issued with it too). Whether it
 * worked: a failure never keeps anyone signed in on this page.
 */
export async function revokeRefreshToken(
  user: User | null,
  config: AppConfig,
  send: typeof fetch = fetch,
): Promise<boolean> {
  const token = user?.refresh_token;
  if (config.revokeUrl === "" || token === undefined || token === "") return false;
  try {
    const body = new URLSearchParams({ token, client_id: config.clientId });
    const answer = await send(config.revokeUrl, { method: "POST", body, credentials: "omit" });
    return answer.ok;
  } catch {
    return false;
  }
}
