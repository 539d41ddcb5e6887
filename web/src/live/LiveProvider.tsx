import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import { useAuth } from "../features/auth/AuthProvider";
import { LiveConnection, type LiveState } from "./connection";
import type { LiveMessage } from "./messages";

interface Subscriber {
  readonly message: (message: LiveMessage) => void;
  readonly resync: () => void;
}

interface Live {
  /** Whether live updates are on: config.json names a socket and someone is signed in. */
  readonly on: boolean;
  readonly state: LiveState;
  readonly subscribe: (subscriber: Subscriber) => () => void;
}

const LiveContext = createContext<Live>({ on: false, state: "off", subscribe: () => () => undefined });

/** The tab's one socket, while someone is signed in and config.json names one. */
export function LiveProvider({ url, children }: { url: string; children: ReactNode }) {
  const { session, expire } = useAuth();
  const token = session?.accessToken ?? null;
  const [state, setState] = useState<LiveState>("off");
  const subscribers = useRef(new Set<Subscriber>());

  useEffect(() => {
    if (url === "" || token === null) return;
    const connection = new LiveConnection({
      url,
      token: () => token,
      listener: {
        state: setState,
        message: (message) => {
          subscribers.current.forEach((s) => {
            s.message(message);
          });
        },
        resync: () => {
          subscribers.current.forEach((s) => {
            s.resync();
          });
        },
        expired: expire,
      },
    });
    // Deferred a tick: React's development double mount would otherwise open and at
    // once close a socket still connecting, which the browser reports as an error.
    const start = setTimeout(() => {
      connection.start();
    }, 0);
    return () => {
      clearTimeout(start);
      connection.stop();
    };
  }, [url, token, expire]);

  const subscribe = useCallback((subscriber: Subscriber) => {
    subscribers.current.add(subscriber);
    return () => {
      subscribers.current.delete(subscriber);
    };
  }, []);
  const on = url !== "" && token !== null;
  const live = useMemo<Live>(() => ({ on, state: on ? state : "off", subscribe }), [on, state, subscribe]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

/**
 * A page's part: `message` for each change, `resync` to read again (after a reconnect,
 * and every 15 s while the socket is down). Whether live updates are on: a page with
 * them off keeps its own refresh.
 */
export function useLive(message: (message: LiveMessage) => void, resync: () => void): boolean {
  const { on, subscribe } = useContext(LiveContext);
  const latest = useRef({ message, resync });
  useEffect(() => {
    latest.current = { message, resync };
  });
  useEffect(
    () =>
      subscribe({
        message: (m) => {
          latest.current.message(m);
        },
        resync: () => {
          latest.current.resync();
        },
      }),
    [subscribe],
  );
  return on;
}

const LABELS: Record<LiveState, string> = { live: "Live", reconnecting: "Reconnecting…", off: "Off" };
const TITLES: Record<LiveState, string> = {
  live: "Changes arrive by themselves",
  reconnecting: "The live connection dropped: reconnecting, and reading again every 15 seconds meanwhile",
  off: "Live updates are off: press Refresh to see changes",
};

/** The header's Live / Reconnecting / Off. */
export function LiveIndicator() {
  const { state } = useContext(LiveContext);
  const { session } = useAuth();
  if (session === null) return null;
  return (
    // Announced when it changes, without the status role the pages' own messages have.
    <span aria-live="polite" className={`live live-${state}`} title={TITLES[state]} data-live={state}>
      {LABELS[state]}
    </span>
  );
}
