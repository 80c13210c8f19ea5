// The one client for calling another service: the BFF's upstreams, and the notifications worker's favorites,
// cart and webhook. It owns each call's deadline: one Deadline (one timer, one signal) from which the
// x-deadline-ms header, the retry budget and the single-flight bound are all read, and the call settles by
// that deadline whatever the upstream does, reading the body included. Callers never race it themselves.
// GETs go deadline -> single flight -> retry -> breaker -> fetch; changes go deadline -> breaker -> fetch
// (never retried: they are not idempotent). The address may be a list of replicas (instances.ts): each attempt
// then goes to one instance, a retried GET to another one, and a change refused at connect (so never sent) to
// the next one.
import { abortable } from "../abort.ts";
import { CircuitOpenError, type BreakerOptions, type CircuitBreaker, type Outcome } from "../circuit-breaker.ts";
import { createDeadline, DeadlineExceededError, type Deadline } from "../deadline.ts";
import { DEADLINE_HEADER } from "../deadline-propagation.ts";
import type { Histogram } from "../observability/metrics.ts";
import type { Timing } from "../observability/request-context.ts";
import { defaultRetryOn, parseRetryAfter, retry } from "../retry.ts";
import { isCallersFault, outcomeOf, UpstreamInvalidResponseError, UpstreamStatusError } from "./errors.ts";
import { createInstancePool, parseUpstreamUrls, type Instance } from "./instances.ts";
import { createSingleFlight } from "./single-flight.ts";

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export type RetryPolicy = { attempts: number; baseMs: number; maxMs: number; minAttemptMs: number };
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseMs: 25, maxMs: 250, minAttemptMs: 50 };

export type UpstreamCall = {
  /** A number of ms for a deadline of the call's own, or a Deadline shared with other calls (its owner ends it). */
  deadline: number | Deadline;
  /** Gives up early, e.g. a job being cancelled at shutdown: the call rejects with the signal's reason at once. */
  signal?: AbortSignal;
  requestId?: string;
  /** Extra headers, e.g. the caller's `authorization` passed on. */
  headers?: Record<string, string>;
  /** The request's timings (its log line, Server-Timing): the call adds `{ name, ms, outcome }`. */
  timings?: Timing[];
};

export type SendOptions = UpstreamCall & {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as it is, e.g. a body whose exact bytes are signed. */
  body?: string;
  /** "ignore": the answer's body is read and dropped (a receiver that answers "ok"); default "json". */
  response?: "json" | "ignore";
};

/** A 2xx or 4xx answer to a change; its body parsed (null when empty). */
export type UpstreamReply = { status: number; body: unknown; headers: Headers };

export type UpstreamClient = {
  readonly name: string;
  /** The upstream's breaker; for a list of replicas, all of theirs seen as one (open when every one is). */
  readonly breaker: CircuitBreaker;
  /**
   * GET a 2xx JSON body, passed through `parse` (which throws UpstreamInvalidResponseError for a wrong shape);
   * another status throws UpstreamStatusError. Concurrent GETs of one path share one call (the first caller's
   * request id and deadline go upstream), so `parse` must depend on the body alone. Calls with different
   * `authorization` headers never share.
   */
  getJson<T = unknown>(path: string, call: UpstreamCall, parse?: (body: unknown) => T): Promise<T>;
  /** A change, never retried. A 2xx or 4xx is returned for the caller to pass on; a 3xx or 5xx throws UpstreamStatusError. */
  send(method: string, path: string, options: SendOptions): Promise<UpstreamReply>;
};

export type UpstreamClientOptions = {
  /** Defaults to the global fetch, read at call time (so msw in tests is seen). */
  fetch?: FetchFn;
  breaker?: Omit<BreakerOptions, "name" | "isFailure">;
  /** Retries of GETs; null for none (e.g. a queue's own retries take over). */
  retry?: RetryPolicy | null;
  /** Latency of every call by {upstream, outcome}, retries included. */
  duration?: Histogram;
};

const globalFetch: FetchFn = (input, init) => fetch(input, init);
const asIs = <T>(body: unknown) => body as T;

/** A refusal of the caller's own request says nothing about the upstream's health. */
const isUpstreamFailure = (outcome: Outcome) =>
  !outcome.ok && !(outcome.error instanceof UpstreamStatusError && isCallersFault(outcome.error.status));

const isRetryable = (error: unknown) =>
  defaultRetryOn(error) &&
  !(error instanceof UpstreamInvalidResponseError) &&
  !(error instanceof UpstreamStatusError && isCallersFault(error.status));

const retryAfterOf = (error: unknown) => (error instanceof UpstreamStatusError ? error.retryAfterMs : undefined);

/** Nothing was sent: the instance refused the connection, so any request, a change too, may go to another. */
const isRefused = (error: unknown) => (error as { code?: string } | null)?.code === "ECONNREFUSED";

/** What a settled call says about the instance that took it. */
function instanceOutcome(error: unknown): "failure" | "refused" | "neutral" {
  if (isRefused(error)) return "refused";
  if (error instanceof CircuitOpenError) return "neutral";
  if (error instanceof UpstreamStatusError) return error.status >= 500 || error.status === 408 ? "failure" : "neutral";
  if (error instanceof DeadlineExceededError || error instanceof UpstreamInvalidResponseError) return "failure";
  // Cancelled by the caller (nobody needs the answer any more): nothing learnt about the instance.
  if ((error as { name?: string } | null)?.name === "AbortError" || outcomeOf(error) === "aborted") return "neutral";
  return "failure"; // reset, closed before answering, DNS...
}

/** `baseUrl` is one address (e.g. a Kubernetes Service) or a comma-separated list of the upstream's replicas. */
export function createUpstreamClient(name: string, baseUrl: string, options: UpstreamClientOptions = {}): UpstreamClient {
  const fetchFn = options.fetch ?? globalFetch;
  const policy = options.retry === undefined ? DEFAULT_RETRY : options.retry;
  const pool = createInstancePool(name, parseUpstreamUrls(baseUrl), { ...options.breaker, isFailure: isUpstreamFailure });
  const breaker = pool.breaker;
  const flights = createSingleFlight();
  const duration = options.duration;

  /** Headers every call carries: the time left (deadline propagation) and the request id. */
  const headersFor = (deadline: Deadline, requestId: string | undefined, extra?: Record<string, string>) => {
    const headers: Record<string, string> = { accept: "application/json", [DEADLINE_HEADER]: String(deadline.remainingMs()), ...extra };
    if (requestId) headers["x-request-id"] = requestId;
    return headers;
  };

  const readJson = async (res: Response): Promise<unknown> => {
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
    return new UpstreamStatusError(name, res.status, await readJson(res).catch(() => null), retryAfter);
  };

  /** One attempt at one instance, through its breaker; counted in flight until settled, its outcome judged. */
  function atInstance<T>(tried: Set<Instance>, signal: AbortSignal, work: (send: (url: string, init: RequestInit) => Promise<Response>) => Promise<T>): Promise<T> {
    const instance = pool.pick(tried);
    tried.add(instance);
    instance.outstanding++;
    const send = async (path: string, init: RequestInit) => {
      const res = await fetchFn(instance.base + path, init);
      // A replica shutting down says so on every answer: the next calls go to the others.
      if (res.headers.get("connection") === "close") pool.draining(instance);
      return res;
    };
    return instance.breaker.run(() => work(send), signal).then(
      (value) => {
        instance.outstanding--;
        pool.settle(instance, "ok");
        return value;
      },
      (error) => {
        instance.outstanding--;
        pool.settle(instance, instanceOutcome(error));
        throw error;
      },
    );
  }

  /** Runs `work` under the call's deadline (and signal), and records how long it took and how it ended. */
  function run<T>(call: UpstreamCall, work: (deadline: Deadline, signal: AbortSignal) => Promise<T>): Promise<T> {
    const own = typeof call.deadline === "number";
    const deadline = typeof call.deadline === "number" ? createDeadline(call.deadline) : call.deadline;
    const signal = call.signal ? AbortSignal.any([deadline.signal, call.signal]) : deadline.signal;
    const started = performance.now();
    const done = (outcome: string) => {
      if (own) deadline.abort(); // stops the timer, and whatever still runs under it
      const ms = performance.now() - started;
      duration?.observe([name, outcome], ms / 1000);
      call.timings?.push({ name, ms: Math.round(ms * 100) / 100, outcome });
    };
    return abortable(deadline.race(work(deadline, signal)), call.signal).then(
      (value) => {
        done("ok");
        return value;
      },
      (error) => {
        done(outcomeOf(error));
        throw error;
      },
    );
  }

  return {
    name,
    breaker,
    getJson<T>(path: string, call: UpstreamCall, parse: (body: unknown) => T = asIs) {
      // A retry goes to an instance the call has not tried yet, while there is one.
      const attempt = (deadline: Deadline, signal: AbortSignal, tried: Set<Instance>) =>
        atInstance(tried, signal, async (send) => {
          const res = await send(path, { headers: headersFor(deadline, call.requestId, call.headers), signal, redirect: "manual" });
          if (!res.ok) throw await statusError(res);
          return parse(await readJson(res));
        });
      return run(call, (deadline, signal) =>
        flights.run(
          call.headers?.authorization ? `${path}\n${call.headers.authorization}` : path,
          signal,
          (flightSignal) => {
            const tried = new Set<Instance>();
            return policy
              ? retry((_, attemptSignal) => attempt(deadline, attemptSignal, tried), {
                  attempts: policy.attempts,
                  backoff: { baseMs: policy.baseMs, maxMs: policy.maxMs },
                  minAttemptMs: policy.minAttemptMs,
                  signal: flightSignal,
                  deadline: deadline.expiresAt,
                  retryOn: isRetryable,
                  retryAfterMs: retryAfterOf,
                })
              : attempt(deadline, flightSignal, tried);
          },
          deadline.remainingMs(),
        ),
      );
    },

    send(method, path, options) {
      const { json, body, response = "json" } = options;
      const payload = json !== undefined ? JSON.stringify(json) : body;
      const contentType = json !== undefined ? { "content-type": "application/json" } : undefined;
      const tried = new Set<Instance>();
      const once = (deadline: Deadline, signal: AbortSignal): Promise<UpstreamReply> =>
        atInstance(tried, signal, async (send) => {
          const res = await send(path, {
            method,
            headers: headersFor(deadline, options.requestId, { ...contentType, ...options.headers }),
            body: payload,
            signal,
            redirect: "manual",
          });
          if (res.status >= 500 || (res.status >= 300 && res.status < 400)) throw await statusError(res);
          if (response === "ignore") {
            await res.arrayBuffer(); // read inside the deadline, so the connection is free for the next call
            return { status: res.status, body: null, headers: res.headers };
          }
          return { status: res.status, body: await readJson(res), headers: res.headers };
        }).catch((error) => {
          // Refused at connect: the change was never sent, so the next instance may have it.
          if (isRefused(error) && tried.size < pool.instances.length && !signal.aborted) return once(deadline, signal);
          throw error;
        });
      return run(options, once);
    },
  };
}
