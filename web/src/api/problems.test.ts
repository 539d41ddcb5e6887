import { describe, expect, it } from "vitest";

import { ApiError, describeFailure, errorSentence, retryAfterSeconds, UNREACHABLE } from "./problems";

const none = new Headers();

describe("describeFailure", () => {
  it("uses the problem's detail and its field messages, never raw JSON", () => {
    const body = {
      type: "urn:serverless-api:problem:validation",
      title: "Unprocessable Content",
      status: 422,
      detail: "the request is not valid",
      errors: [{ field: "body.lines.0.item_id", message: "'truffle-special': not available", code: "x" }],
    };
    const text = describeFailure(422, body, none);
    expect(text).toBe("The request is not valid. 'truffle-special': not available.");
    expect(text).not.toContain("{");
  });

  it("says how long to wait on a 429, from Retry-After in seconds or as a date", () => {
    expect(describeFailure(429, {}, new Headers({ "Retry-After": "30" }))).toBe(
      "Too many requests right now. Please try again in 30 seconds.",
    );
    const now = Date.parse("2026-11-30T12:00:00Z");
    const date = new Headers({ "Retry-After": "Mon, 30 Nov 2026 12:00:01 GMT" });
    expect(describeFailure(429, {}, date, now)).toBe("Too many requests right now. Please try again in 1 second.");
    expect(describeFailure(429, {}, none)).toContain("wait a moment");
  });

  it("sends an expired session to sign in again", () => {
    expect(describeFailure(401, { detail: "token expired", status: 401 }, none)).toBe(
      "Your session has expired. Please sign in again.",
    );
    expect(new ApiError(401, "x").signInAgain).toBe(true);
    expect(new ApiError(403, "x").signInAgain).toBe(false);
  });

  it("quotes the request id of a server error", () => {
    const body = { detail: "Internal error", status: 500, request_id: "abc123", title: "x", type: "x" };
    expect(describeFailure(500, body, none)).toBe("Something went wrong on our side. Please try again (request id abc123).");
  });

  it("has a sentence for a body that is not a problem", () => {
    expect(describeFailure(418, "<html>", none)).toBe("The request failed (HTTP 418).");
  });
});

describe("errorSentence", () => {
  it("turns a failed fetch into a sentence about the connection", () => {
    expect(errorSentence(new TypeError("Failed to fetch"))).toBe(UNREACHABLE);
    expect(errorSentence(new ApiError(412, "Moved first."))).toBe("Moved first.");
  });
});

describe("retryAfterSeconds", () => {
  it("reads delta-seconds and refuses garbage", () => {
    expect(retryAfterSeconds("7")).toBe(7);
    expect(retryAfterSeconds("soon")).toBeNull();
    expect(retryAfterSeconds(null)).toBeNull();
  });
});
