import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { SESSION_EXPIRED } from "../../api/problems";
import type { AppConfig } from "../../config";
import { createUserManager, returnPath, revokeRefreshToken, sessionOf, type Session } from "./session";

export interface Auth {
  readonly session: Session | null;
  /** Said once, e.g. after an expired session. */
  readonly notice: string | null;
  readonly can: (scope: string) => boolean;
  readonly signIn: (returnTo?: string) => Promise<void>;
  readonly signOut: () => Promise<void>;
  /** The API said 401: forget the tokens and ask to sign in again. */
  readonly expire: () => void;
  /** On /callback: finish the code exchange; the path to go back to. */
  readonly complete: () => Promise<string>;
}

const AuthContext = createContext<Auth | null>(null);

// The callback runs once per page load, even if React mounts it twice (StrictMode).
let callback: Promise<string> | null = null;

export function AuthProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  const manager = useMemo(() => createUserManager(config), [config]);
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    void manager.getUser().then((user) => {
      if (!live) return;
      if (user?.expired === true) {
        void manager.removeUser();
        setNotice(SESSION_EXPIRED);
      }
      setSession(sessionOf(user, config));
    });
    return () => {
      live = false;
    };
  }, [manager, config]);

  const signIn = useCallback(
    (returnTo: string = window.location.pathname) => manager.signinRedirect({ state: { returnTo } }),
    [manager],
  );

  const signOut = useCallback(async () => {
    // Before anything is forgotten: the refresh token is what the issuer revokes.
    await revokeRefreshToken(await manager.getUser(), config);
    await manager.removeUser();
    setSession(null);
    setNotice(null);
    // Cognito keeps its own session: end it too, or the next sign-in skips the form.
    if (config.signOutUrl !== "") window.location.assign(config.signOutUrl);
  }, [manager, config]);

  const expire = useCallback(() => {
    void manager.removeUser();
    setSession(null);
    setNotice(SESSION_EXPIRED);
  }, [manager]);

  const complete = useCallback(() => {
    callback ??= manager.signinRedirectCallback().then((user) => {
      setSession(sessionOf(user, config));
      setNotice(null);
      return returnPath(user.state);
    });
    return callback;
  }, [manager, config]);

  const value = useMemo<Auth>(
    () => ({
      session,
      notice,
      can: (scope) => session?.scopes.has(scope) ?? false,
      signIn,
      signOut,
      expire,
      complete,
    }),
    [session, notice, signIn, signOut, expire, complete],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (auth === null) throw new Error("useAuth outside AuthProvider");
  return auth;
}
