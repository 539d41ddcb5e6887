/**
 * Sign-in: OAuth 2.0 authorization code with PKCE through oidc-client-ts, one
 * code path for Cognito's managed login in the cloud and the local development
 * sign-in. Tokens live in session storage (this tab only, gone when it closes),
 * never in a cookie; nothing renews them silently: an expired session asks the
 * person to sign in again.
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
