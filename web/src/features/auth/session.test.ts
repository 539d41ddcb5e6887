import { describe, expect, it } from "vitest";

import { returnPath } from "./session";

describe("returnPath", () => {
  it("returns to a page of this site only", () => {
    expect(returnPath({ returnTo: "/checkout" })).toBe("/checkout");
    expect(returnPath({ returnTo: "//evil.example/" })).toBe("/");
    expect(returnPath({ returnTo: "https://evil.example/" })).toBe("/");
    expect(returnPath(null)).toBe("/");
  });
});
