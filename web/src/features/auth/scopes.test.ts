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

  it("grants nothing for garbage", () => {
    expect(grantedScopes("not-a-token", "")).toEqual(new Set());
    expect(jwtPayload("a.!!!.c")).toBeNull();
  });
});
