// What can go wrong with a call to another service, as the callers tell the cases apart: the upstream answered
// a status the caller has to decide about, or answered something unusable. Timeouts are DeadlineExceededError
// (deadline.ts), refusals of an open breaker CircuitOpenError, and given-up retries TooManyRetriesError.
import { CircuitOpenError } from "../circuit-breaker.ts";
import { DeadlineExceededError, NO_LONGER_NEEDED } from "../deadline.ts";
import { TooManyRetriesError } from "../retry.ts";

/** The upstream answered a status the caller has to decide about (a 3xx/4xx, or a 5xx). */
export class UpstreamStatusError extends Error {
  constructor(
    readonly upstream: string,
    readonly status: number,
    readonly body: unknown,
    /** From a 429/503's Retry-After header, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`${upstream} answered ${status}`);
    this.name = "UpstreamStatusError";
  }
}

/** The upstream answered with a body we cannot use (not JSON, or not the shape the caller needs). */
export class UpstreamInvalidResponseError extends Error {
  constructor(
    readonly upstream: string,
    detail: string,
  ) {
    super(`${upstream} sent an invalid response: ${detail}`);
    this.name = "UpstreamInvalidResponseError";
  }
}

/** A 4xx other than 408 and 429 is the caller's own fault: asking again cannot help, and the upstream is healthy. */
export const isCallersFault = (status: number) => status >= 300 && status < 500 && status !== 408 && status !== 429;

/** The error behind a given-up retry: what the last attempt failed with. */
export const rootCause = (error: unknown): unknown => (error instanceof TooManyRetriesError ? error.cause : error);

/** How a call ended, as a metric label and a Server-Timing description. */
export function outcomeOf(error: unknown): string {
  const e = rootCause(error);
  if (e instanceof CircuitOpenError) return "circuit_open";
  if (e instanceof DeadlineExceededError) return "timeout";
  if (e instanceof UpstreamStatusError) return e.status < 500 ? "client_error" : "server_error";
  if (e instanceof UpstreamInvalidResponseError) return "invalid_response";
  // Cancelled because nobody needed the answer any more, or by the caller's own signal.
  if (e === NO_LONGER_NEEDED || (e as { name?: string } | null)?.name === "AbortError") return "aborted";
  return "unreachable";
}
