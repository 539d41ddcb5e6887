/**
 * Reconnect delays: exponential backoff with full jitter, as AWS's Architecture Blog
 * "Exponential Backoff And Jitter" recommends: a random delay between 0 and
 * min(cap, base * 2^attempt). After a server restart every tab would otherwise come
 * back in the same instant (API Gateway counts new connections per second).
 */
export const BASE_MS = 1_000;
export const CAP_MS = 30_000;

/** The delay before reconnect attempt `attempt` (0 for the first), `random()` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
