// A small JSON client for one upstream the worker reads (favorites, cart): each call runs under its own
// deadline (shared withDeadline, which also covers reading the body) and through the upstream's circuit
// breaker. No retries here: a failed call fails the job, and BullMQ's backoff is the retry.
import { UnrecoverableError } from "bullmq";
import { createCircuitBreaker, type BreakerOptions, type CircuitBreaker, type Outcome } from "@storefront/shared/circuit-breaker";
import { withDeadline } from "@storefront/shared/deadline";

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A 4xx (other than 408/429): the request itself is wrong, so retrying the job cannot help. */
export class UpstreamRejectedError extends UnrecoverableError {
  constructor(
    readonly upstream: string,
    readonly status: number,
    path: string,
  ) {
    super(`${upstream} answered ${status} to GET ${path}`);
  }
}

/** A 5xx, 408 or 429: worth another attempt later. */
export class UpstreamStatusError extends Error {
  constructor(
    readonly upstream: string,
    readonly status: number,
    path: string,
  ) {
    super(`${upstream} answered ${status} to GET ${path}`);
    this.name = "UpstreamStatusError";
  }
}

export class UpstreamInvalidResponseError extends Error {
  constructor(upstream: string, detail: string) {
    super(`${upstream} sent an invalid response: ${detail}`);
    this.name = "UpstreamInvalidResponseError";
  }
}

export type UpstreamClient = {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  /** GET a 2xx JSON body; `signal` (the job's) abandons the call early, e.g. at shutdown. */
  getJson(path: string, signal?: AbortSignal): Promise<unknown>;
};

export type UpstreamClientOptions = {
  name: string;
  baseUrl: string;
  deadlineMs: number;
  breaker?: Omit<BreakerOptions, "name" | "isFailure">;
  fetch?: FetchFn;
};

// Read lazily so a fetch patched after start-up is still the one used.
const globalFetch: FetchFn = (input, init) => fetch(input, init);

/** A refusal says nothing about the upstream's health; only errors and 5xx count against the breaker. */
const isUpstreamFailure = (outcome: Outcome) => !outcome.ok && !(outcome.error instanceof UpstreamRejectedError);

export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const { name, deadlineMs } = options;
  const base = options.baseUrl.replace(/\/$/, "");
  const fetchFn = options.fetch ?? globalFetch;
  const breaker = createCircuitBreaker({ ...options.breaker, name, isFailure: isUpstreamFailure });

  const getOnce = async (path: string, signal: AbortSignal) => {
    const res = await fetchFn(base + path, { headers: { accept: "application/json" }, signal });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      throw retryable ? new UpstreamStatusError(name, res.status, path) : new UpstreamRejectedError(name, res.status, path);
    }
    const text = await res.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamInvalidResponseError(name, `GET ${path} answered ${res.status} with a body that is not JSON`);
    }
  };

  return {
    name,
    breaker,
    getJson(path, jobSignal) {
      return withDeadline(deadlineMs, (deadlineSignal) => {
        const signal = jobSignal ? AbortSignal.any([deadlineSignal, jobSignal]) : deadlineSignal;
        return abortable(breaker.run(() => getOnce(path, signal), signal), jobSignal);
      });
    },
  };
}

/** The signal's reason as an Error (BullMQ aborts jobs with a string reason; a job must fail with an Error). */
export const abortError = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error(`aborted: ${String(signal.reason ?? "no reason given")}`);

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
