/**
 * One live orders socket per signed-in tab (SPEC "Live orders"). The quotas it keeps
 * clear of are API Gateway's for WebSocket APIs ("Amazon API Gateway quotas for
 * configuring and running a WebSocket API"): a connection idle for 10 minutes is cut,
 * so it pings every 5; none lives more than 2 hours, and none outlives its token (the
 * server stops sending at the token's `exp`), so it reconnects before either, with the
 * session's current token. Every (re)connect is followed by one re-read (what changed
 * while it was down was never sent), and while it is down the pages re-read every 15 s.
 */
import { jwtPayload } from "../features/auth/scopes";
import { backoffDelay } from "./backoff";
import { parseMessage, type LiveMessage } from "./messages";

export type LiveState = "live" | "reconnecting" | "off";

export const PING_MS = 5 * 60_000;
export const POLL_MS = 15_000;
export const MAX_LIFETIME_MS = 2 * 60 * 60_000;
/** How long before a cut-off the socket is replaced. */
export const RENEW_MARGIN_MS = 60_000;
export const PING = JSON.stringify({ action: "ping" });

/** The part of the browser's WebSocket this uses (tests pass a fake). */
export interface SocketLike {
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

export interface LiveListener {
  state(state: LiveState): void;
  message(message: LiveMessage): void;
  /** Read again: after every (re)connect, and every POLL_MS while the socket is down. */
  resync(): void;
  /** The token ran out and the session has none newer: signing in again is needed. */
  expired(): void;
}

export interface LiveOptions {
  readonly url: string;
  /** The session's access token now, or null when signed out. */
  readonly token: () => string | null;
  readonly listener: LiveListener;
  readonly open?: (url: string) => SocketLike;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** The token's `exp` in epoch milliseconds; Infinity when it names none (the 2 h cap still holds). */
export function expiresAt(token: string): number {
  const exp = jwtPayload(token)?.exp;
  return typeof exp === "number" ? exp * 1000 : Number.POSITIVE_INFINITY;
}

export class LiveConnection {
  private readonly options: LiveOptions;
  private readonly open: (url: string) => SocketLike;
  private readonly now: () => number;
  private socket: SocketLike | null = null;
  private attempt = 0;
  private stopped = true;
  private current: LiveState = "off";
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: LiveOptions) {
    this.options = options;
    // The handlers this sets take no event argument: the browser's socket fits.
    this.open = options.open ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.now = options.now ?? Date.now;
  }

  get state(): LiveState {
    return this.current;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState("reconnecting");
    this.connect();
  }

  /** Sign-out, or the page going away: close, and nothing more until start(). */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.setState("off");
  }

  private connect(): void {
    const token = this.options.token();
    if (token === null) {
      this.stop();
      return;
    }
    const expires = expiresAt(token);
    if (expires <= this.now()) {
      this.stop();
      this.options.listener.expired();
      return;
    }
    const socket = this.open(`${this.options.url}?token=${encodeURIComponent(token)}`);
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.setState("live");
      this.pingTimer = setInterval(() => {
        socket.send(PING);
      }, PING_MS);
      const cutOff = Math.min(this.now() + MAX_LIFETIME_MS, expires);
      this.renewTimer = setTimeout(() => {
        this.renew(expires);
      }, cutOff - RENEW_MARGIN_MS - this.now());
      this.options.listener.resync();
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      const message = parseMessage(event.data);
      if (message !== null) this.options.listener.message(message);
    };
    socket.onclose = () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.down();
    };
  }

  /** Replace the socket before a cut-off: with a newer token if the session has one. */
  private renew(expires: number): void {
    const token = this.options.token();
    const fresh = token !== null && expiresAt(token) - RENEW_MARGIN_MS > this.now();
    if (!fresh) {
      // No newer token: the session ends at `exp`; say so then, not before.
      this.renewTimer = setTimeout(() => {
        this.stop();
        this.options.listener.expired();
      }, expires - this.now());
      return;
    }
    const old = this.socket;
    this.clearTimers();
    this.connect();
    old?.close(1000);
  }

  private down(): void {
    this.clearTimers();
    if (this.stopped) return;
    this.setState("reconnecting");
    this.pollTimer ??= setInterval(() => {
      this.options.listener.resync();
    }, POLL_MS);
    const delay = backoffDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.connect();
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    clearInterval(this.pingTimer);
    this.retryTimer = this.renewTimer = this.pingTimer = undefined;
  }

  private setState(state: LiveState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.listener.state(state);
  }
}
