import { describe, expect, it } from "vitest";

import { slugify } from "./dish";

describe("slugify", () => {
  it("makes an id the API accepts", () => {
    expect(slugify("Quattro Formaggi")).toBe("quattro-formaggi");
    expect(slugify("  Crème brûlée!  ")).toBe("creme-brulee");
    expect(slugify("!!!")).toBe("");
  });
});
