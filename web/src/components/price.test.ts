import { describe, expect, it } from "vitest";

import { formatPrice, parsePrice } from "./price";

describe("prices", () => {
  it("formats cents", () => {
    expect(formatPrice(1150)).toBe("$11.50");
    expect(formatPrice(0)).toBe("$0.00");
  });

  it("parses what a chef types into cents, or refuses it", () => {
    expect(parsePrice("11.5")).toBe(1150);
    expect(parsePrice("$11.05")).toBe(1105);
    expect(parsePrice("12")).toBe(1200);
    expect(parsePrice("12,25")).toBe(1225);
    expect(parsePrice("-1")).toBeNull();
    expect(parsePrice("1.234")).toBeNull();
    expect(parsePrice("10000.01")).toBeNull();
    expect(parsePrice("")).toBeNull();
  });
});
