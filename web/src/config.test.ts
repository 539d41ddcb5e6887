import { describe, expect, it } from "vitest";

import { parseConfig } from "./config";

const local = {
  apiUrl: "http://127.0.0.1:8000/",
  authority: "http://127.0.0.1:8000/local-dev",
  clientId: "restaurant-web",
  scopes: "openid orders:read",
};

describe("parseConfig", () => {
  it("reads the local defaults and trims trailing slashes", () => {
    const config = parseConfig(local);
    expect(config.apiUrl).toBe("http://127.0.0.1:8000");
    expect(config.scopePrefix).toBe("");
    expect(config.signOutUrl).toBe("");
  });

  it("refuses a missing or non-http value with a sentence naming it", () => {
    expect(() => parseConfig({ ...local, clientId: "" })).toThrow('"clientId"');
    expect(() => parseConfig({ ...local, apiUrl: "javascript:alert(1)" })).toThrow('"apiUrl"');
    expect(() => parseConfig([])).toThrow("object");
  });
});
