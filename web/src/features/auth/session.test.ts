import { User } from "oidc-client-ts";
import { describe, expect, it } from "vitest";

import { parseConfig } from "../../config";
import { returnPath, revokeRefreshToken } from "./session";

describe("returnPath", () => {
  it("returns to a page of this site only", () => {
    expect(returnPath({ returnTo: "/checkout" })).toBe("/checkout");
    expect(returnPath({ returnTo: "//evil.example/" })).toBe("/");
    expect(returnPath({ returnTo: "https://evil.example/" })).toBe("/");
    expect(returnPath(null)).toBe("/");
  });
});

describe("revokeRefreshToken", () => {
  const config = parseConfig({
    apiUrl: "https://api.example.test/dev",
    authority: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool",
    clientId: "webclient123",
    scopes: "openid",
    revokeUrl: "https://pool.auth.us-east-1.amazoncognito.com/oauth2/revoke",
  });
  const signedIn = (refreshToken?: string) =>
    new User({
      access_token: "access-1",
      token_type: "Bearer",
      profile: { sub: "ann" } as never,
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    });
  const user = signedIn("refresh-1");

  interface Call {
    url: string;
    init: RequestInit;
  }

  function recorder(status = 200): { calls: Call[]; send: typeof fetch } {
    const calls: Call[] = [];
    const send: typeof fetch = (url, init) => {
      calls.push({ url: url instanceof Request ? url.url : url.toString(), init: init ?? {} });
      return Promise.resolve(new Response(null, { status }));
    };
    return { calls, send };
  }

  it("posts the refresh token and the public client's id, as Cognito's /oauth2/revoke takes them", async () => {
    const { calls, send } = recorder();
    expect(await revokeRefreshToken(user, config, send)).toBe(true);
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0] ?? { url: "", init: {} };
    expect(url).toBe("https://pool.auth.us-east-1.amazoncognito.com/oauth2/revoke");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("omit");
    const body = new URLSearchParams(init.body instanceof URLSearchParams ? init.body : undefined);
    expect([...body.entries()]).toEqual([
      ["token", "refresh-1"],
      ["client_id", "webclient123"],
    ]);
  });

  it("sends nothing without a refresh token or a revocation endpoint", async () => {
    const { calls, send } = recorder();
    expect(await revokeRefreshToken(null, config, send)).toBe(false);
    expect(await revokeRefreshToken(signedIn(), config, send)).toBe(false);
    expect(await revokeRefreshToken(user, { ...config, revokeUrl: "" }, send)).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it("says a refused or failed revocation did not work, without throwing", async () => {
    expect(await revokeRefreshToken(user, config, recorder(400).send)).toBe(false);
    const offline: typeof fetch = () => Promise.reject(new TypeError("offline"));
    expect(await revokeRefreshToken(user, config, offline)).toBe(false);
  });
});
