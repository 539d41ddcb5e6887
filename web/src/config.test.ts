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
    expect(config.wsUrl).toBe("");
  });

  it("reads the live orders socket, and an empty one turns live updates off", () => {
    expect(parseConfig({ ...local, wsUrl: "ws://127.0.0.1:8000/ws" }).wsUrl).toBe("ws://127.0.0.1:8000/ws");
    expect(parseConfig({ ...local, wsUrl: "wss://abc.execute-api.eu-west-1.amazonaws.com/dev/" }).wsUrl).toBe(
      "wss://abc.execute-api.eu-west-1.amazonaws.com/dev",
    );
    expect(parseConfig({ ...local, wsUrl: "" }).wsUrl).toBe("");
    expect(() => parseConfig({ ...local, wsUrl: "http://127.0.0.1:8000/ws" })).toThrow('"wsUrl"');
    expect(() => parseConfig({ ...local, wsUrl: "ws://127.0.0.1:8000/ws?token=x" })).toThrow('"wsUrl"');
    expect(() => parseConfig({ ...local, wsUrl: 1 })).toThrow('"wsUrl"');
  });

  it("refuses a missing or non-http value with a sentence naming it", () => {
    expect(() => parseConfig({ ...local, clientId: "" })).toThrow('"clientId"');
    expect(() => parseConfig({ ...local, apiUrl: "javascript:alert(1)" })).toThrow('"apiUrl"');
    expect(() => parseConfig([])).toThrow("object");
  });
});
