import { describe, expect, it } from "vitest";

import { backoffDelay, BASE_MS, CAP_MS } from "./backoff";

describe("reconnect backoff with full jitter", () => {
  it("doubles the ceiling per attempt up to the cap", () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelay(n, top))).toEqual([
      999, 1999, 3999, 7999, 15999, 29999, 29999, 29999,
    ]);
  });

  it("draws anywhere from zero to the ceiling, so tabs do not come back together", () => {
    expect(backoffDelay(3, () => 0)).toBe(0);
    expect(backoffDelay(3, () => 0.5)).toBe(4 * BASE_MS);
    const draws = new Set(Array.from({ length: 50 }, () => backoffDelay(10)));
    expect(draws.size).toBeGreaterThan(40);
    for (const d of draws) expect(d).toBeLessThan(CAP_MS);
  });
});
