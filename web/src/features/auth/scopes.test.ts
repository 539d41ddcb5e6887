import { describe, expect, it } from "vitest";

import { grantedScopes, jwtPayload } from "./scopes";

function token(payload: object): string {
  const encode = (value: object) =>
    btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${encode({ alg: "RS256" })}.${encode(payload)}.signature`;
}

describe("grantedScopes", () => {
  it("strips Cognito's resource-server prefix", () => {
    const cognito = token({ scope: "openid orders-api/orders:read orders-api/orders:write" });
    expect([...grantedScopes(cognito, "orders-api/")].sort()).toEqual(["openid", "orders:read", "orders:write"]);
  });

  it("reads a local token as is", () => {
    expect(grantedScopes(token({ scope: "menu:write" }), "")).toEqual(new Set(["menu:write"]));
  });

  it("grants a cook the kitchen and a chef the menu by group, as the API does", () => {
    const customer = "openid orders-api/orders:read orders-api/orders:write";
    const cook = token({ scope: customer, "cognito:groups": ["staff"] });
    expect([...grantedScopes(cook, "orders-api/")].sort()).toEqual([
      "openid",
      "orders:admin",
      "orders:read",
      "orders:write",
    ]);
    const chef = grantedScopes(token({ scope: customer, "cognito:groups": ["chef"] }), "orders-api/");
    expect(chef.has("menu:write")).toBe(true);
    expect(chef.has("orders:admin")).toBe(false);
  });

  it("grants nothing for an unknown group or a malformed groups claim", () => {
    const customer = new Set(["orders:read"]);
    for (const groups of [["diners"], ["toString"], ["__proto__"], "staff", [["staff"]], null]) {
      expect(grantedScopes(token({ scope: "orders:read", "cognito:groups": groups }), "")).toEqual(customer);
    }
  });

  it("grants nothing for garbage", () => {
    expect(grantedScopes("not-a-token", "")).toEqual(new Set());
    expect(jwtPayload("a.!!!.c")).toBeNull();
  });
});
