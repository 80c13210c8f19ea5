// The BFF's client for one upstream service, built once per process (Bun's fetch keeps connections alive).
// Every call goes deadline -> retry (idempotent GETs only) -> circuit breaker -> fetch, and ends as parsed
// JSON or a typed error the routes map to a gateway status.
import { CircuitOpenError, createCircuitBreaker, type BreakerOptions, type CircuitBreaker, type Outcome } from "@storefront/shared/circuit-breaker";
import { DeadlineExceededError, type Deadline } from "@storefront/shared/deadline";
import { DEADLINE_HEADER } from "@storefront/shared/deadline-propagation";
import type { Histogram } from "@storefront/shared/observability/metrics";
import { defaultRetryOn, parseRetryAfter, retry } from "@storefront/shared/retry";
import { createSingleFlight } from "./single-flight.ts";

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The upstream answered with a status the caller has to decide about (4xx, or 5xx on a GET). */
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

/** The upstream answered with a body we cannot use. */
export class UpstreamInvalidResponseError extends Error {
  constructor(readonly upstream: string, detail: string) {
    super(`${upstream} sent an invalid response: ${detail}`);
    this.name = "UpstreamInvalidResponseError";
  }
}

export type UpstreamReply = { status: number; body: unknown };

export type RetryPolicy = { attempts: number; baseMs: number; maxMs: number; minAttemptMs: number };
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseMs: 25, maxMs: 250, minAttemptMs: 50 };

export type Upstream = {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  /** GET and parse a 2xx JSON body under the deadline, retrying what is worth retrying; other statuses throw UpstreamStatusError.
   *  Concurrent GETs of the same path share one call (the first caller's request id and deadline go upstream). */
  getJson(path: string, deadline: Deadline, requestId?: string): Promise<unknown>;
  /** A change: not retried (not idempotent). Returns status and parsed body (null when empty) for a 2xx-4xx; a 5xx throws. */
  send(method: string, path: string, body: unknown, deadline: Deadline, requestId?: string): Promise<UpstreamReply>;
};

export type UpstreamOptions = {
  fetch?: FetchFn;
  breaker?: Omit<BreakerOptions, "name" | "isFailure">;
  retry?: RetryPolicy;
  /** bff_upstream_request_duration_seconds{upstream, outcome}: every call, retries included. */
  duration?: Histogram;
};

/** Headers every upstream call carries: the request id, and the time left (deadline propagation). */
const headersFor = (deadline: Deadline, requestId: string | undefined, json: boolean): Record<string, string> => {
  const headers: Record<string, string> = { accept: "application/json", [DEADLINE_HEADER]: String(Math.max(0, deadline.expiresAt - Date.now())) };
  if (requestId) headers["x-request-id"] = requestId;
  if (json) headers["content-type"] = "application/json";
  return headers;
};

/** How a call ended, as a metric label. */
export function outcomeOf(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  for (const e of [error, cause]) {
    if (e instanceof CircuitOpenError) return "circuit_open";
    if (e instanceof DeadlineExceededError) return "timeout";
    if (e instanceof UpstreamStatusError) return e.status < 500 ? "client_error" : "server_error";
    if (e instanceof UpstreamInvalidResponseError) return "invalid_response";
  }
  return (error as { name?: string })?.name === "AbortError" ? "aborted" : "unreachable";
}

// Read lazily so a fetch patched after start-up (msw in tests) is still the one used.
const globalFetch: FetchFn = (input, init) => fetch(input, init);

/** A 4xx is the caller's fault, not a sign of an unhealthy upstream. */
const isUpstreamFailure = (outcome: Outcome) =>
  !outcome.ok && !(outcome.error instanceof UpstreamStatusError && outcome.error.status < 500);

const isRetryable = (error: unknown) =>
  defaultRetryOn(error) &&
  !(error instanceof UpstreamInvalidResponseError) &&
  !(error instanceof UpstreamStatusError && error.status < 500 && error.status !== 429);

const retryAfterOf = (error: unknown) => (error instanceof UpstreamStatusError ? error.retryAfterMs : undefined);

export function createUpstream(name: string, baseUrl: string, options: UpstreamOptions = {}): Upstream {
  const base = baseUrl.replace(/\/$/, "");
  const fetchFn = options.fetch ?? globalFetch;
  const policy = options.retry ?? DEFAULT_RETRY;
  const breaker = createCircuitBreaker({ ...options.breaker, name, isFailure: isUpstreamFailure });
  const flights = createSingleFlight();

  const readBody = async (res: Response): Promise<unknown> => {
    const text = await res.text();
    if (text === "") return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new UpstreamInvalidResponseError(name, `status ${res.status} with a body that is not JSON`);
    }
  };

  const statusError = async (res: Response) => {
    const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get("retry-after"), Date.now()) : undefined;
    return new UpstreamStatusError(name, res.status, await readBody(res).catch(() => null), retryAfter);
  };

  const timed = <T>(work: Promise<T>): Promise<T> => {
    const duration = options.duration;
    if (!duration) return work;
    const started = performance.now();
    return work.then(
      (value) => {
        duration.observe([name, "ok"], (performance.now() - started) / 1000);
        return value;
      },
      (error) => {
        duration.observe([name, outcomeOf(error)], (performance.now() - started) / 1000);
        throw error;
      },
    );
  };

  const getOnce = async (path: string, headers: Record<string, string>, signal: AbortSignal) => {
    const res = await fetchFn(base + path, { headers, signal });
    if (!res.ok) throw await statusError(res);
    return readBody(res);
  };

  return {
    name,
    breaker,
    getJson(path, deadline, requestId) {
      return timed(
        flights.run(path, deadline.signal, (flightSignal) => {
          const headers = headersFor(deadline, requestId, false);
          return retry((_, signal) => breaker.run(() => getOnce(path, headers, signal), signal), {
            attempts: policy.attempts,
            backoff: { baseMs: policy.baseMs, maxMs: policy.maxMs },
            minAttemptMs: policy.minAttemptMs,
            signal: flightSignal,
            deadline: deadline.expiresAt,
            retryOn: isRetryable,
            retryAfterMs: retryAfterOf,
          });
        }, Math.max(0, deadline.expiresAt - Date.now())),
      );
    },
    send(method, path, body, deadline, requestId) {
      const signal = deadline.signal;
      return timed(breaker.run(async () => {
        const res = await fetchFn(base + path, {
          method,
          headers: headersFor(deadline, requestId, body !== undefined),
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
        if (res.status >= 500) throw await statusError(res);
        return { status: res.status, body: await readBody(res) };
      }, signal));
    },
  };
}
