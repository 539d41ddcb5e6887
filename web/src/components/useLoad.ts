import { useCallback, useEffect, useState } from "react";

import { useAuth } from "../features/auth/AuthProvider";
import { ApiError } from "../api/problems";

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => Promise<void>;
}

/** Runs `load` now and on `reload()`; a 401 ends the session (the page then offers to sign in again). */
export function useLoad<T>(load: () => Promise<T>): Loaded<T> {
  const { expire } = useAuth();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });

  const run = useCallback(async () => {
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      setState({ data, error: null, loading: false });
    } catch (error) {
      if (error instanceof ApiError && error.signInAgain) expire();
      setState((s) => ({ ...s, error, loading: false }));
    }
  }, [load, expire]);

  useEffect(() => {
    let live = true;
    load().then(
      (data) => {
        if (live) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.signInAgain) expire();
        if (live) setState((s) => ({ ...s, error, loading: false }));
      },
    );
    return () => {
      live = false;
    };
  }, [load, expire]);

  return { ...state, reload: run };
}
