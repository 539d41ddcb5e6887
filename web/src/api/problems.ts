/**
 * Every failure the page shows is a sentence, made here and only here, the way
 * the API makes every error a problem+json document in one place.
 */
import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];

export class ApiError extends Error {
  readonly status: number;
  /** The session is gone (401): the page offers to sign in again. */
  readonly signInAgain: boolean;
  /** Seconds the API asked to wait (Retry-After), if it said. */
  readonly retryAfter: number | null;

  constructor(status: number, sentence: string, retryAfter: number | null = null) {
    super(sentence);
    this.name = "ApiError";
    this.status = status;
    this.signInAgain = status === 401;
    this.retryAfter = retryAfter;
  }
}

export const UNREACHABLE =
  "The restaurant's server could not be reached. Check your connection and try again.";
export const SESSION_EXPIRED = "Your session has expired. Please sign in again.";

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { detail?: unknown }).detail === "string" &&
    typeof (body as { status?: unknown }).status === "number"
  );
}

/** Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function retryAfterSeconds(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return trimmed;
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function seconds(count: number): string {
  return count === 1 ? "1 second" : `${count} seconds`;
}

/** The sentence for a failed response (its parsed body, if any, and its headers). */
export function describeFailure(status: number, body: unknown, headers: Headers, now?: number): string {
  const problem = isProblem(body) ? body : null;
  if (status === 401) return SESSION_EXPIRED;
  if (status === 429) {
    const wait = retryAfterSeconds(headers.get("Retry-After"), now);
    return wait === null
      ? "Too many requests right now. Please wait a moment and try again."
      : `Too many requests right now. Please try again in ${seconds(Math.max(wait, 1))}.`;
  }
  if (status === 403) {
    return "You are signed in, but without permission for this. Sign in with another role.";
  }
  if (status === 412) return "Someone else changed this first. The latest version has been loaded.";
  if (status >= 500) {
    const id = problem?.request_id;
    const base = status === 503 ? "The restaurant is busy right now." : "Something went wrong on our side.";
    return id ? `${base} Please try again (request id ${id}).` : `${base} Please try again.`;
  }
  if (problem) {
    const details = (problem.errors ?? []).map((error) => error.message).filter((m) => m !== "");
    const main = sentence(problem.detail);
    return details.length > 0 ? `${main} ${details.map(sentence).join(" ")}` : main;
  }
  return `The request failed (HTTP ${status}).`;
}

/** The sentence for anything thrown: an ApiError keeps its own, a network failure gets one. */
export function errorSentence(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return UNREACHABLE;
  if (error instanceof Error && error.message !== "") return sentence(error.message);
  return "Something went wrong. Please try again.";
}
