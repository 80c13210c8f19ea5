// Retries with exponential backoff and full jitter, inside the caller's deadline: it never starts an attempt
// that could not finish in time, honours Retry-After, and reports every attempt it made when it gives up.
import { CircuitOpenError } from "./circuit-breaker.ts";
import { DeadlineExceededError } from "./deadline.ts";

export class TooManyRetriesError extends Error {
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
    why: string,
  ) {
    super(`gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${why}`, { cause });
    this.name = "TooManyRetriesError";
  }
}

export type RetryOptions = {
  /** Total attempts, the first included. */
  attempts?: number;
  /** Cap on one attempt; its signal aborts at min(attemptTimeoutMs, time left before `deadline`). */
  attemptTimeoutMs?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  signal?: AbortSignal;
  /** Absolute time, on the `now()` clock, by which everything must be done. */
  deadline?: number;
  /** An attempt starts only if at least this much time is left after the pause. */
  minAttemptMs?: number;
  retryOn?: (error: unknown) => boolean;
  retryAfterMs?: (error: unknown) => number | undefined;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
};

const isAbort = (error: unknown) => (error as { name?: string } | null)?.name === "AbortError";

export const defaultRetryOn = (error: unknown) =>
  !(error instanceof CircuitOpenError || error instanceof DeadlineExceededError || isAbort(error));

const realSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export async function retry<T>(fn: (attempt: number, signal: AbortSignal) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const {
    attempts = 3,
    attemptTimeoutMs,
    backoff: { baseMs = 50, maxMs = 1000 } = {},
    signal,
    deadline = Infinity,
    minAttemptMs = attemptTimeoutMs ?? 1,
    retryOn = defaultRetryOn,
    retryAfterMs,
    now = Date.now,
    sleep = realSleep,
    random = Math.random,
  } = options;

  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw signal.reason;
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onCallerAbort, { once: true });
    // Only a per-attempt cap needs a timer of its own; the overall deadline is the caller's (its signal).
    const capMs = attemptTimeoutMs === undefined ? undefined : Math.max(0, Math.min(attemptTimeoutMs, deadline - now()));
    const timer = capMs === undefined ? undefined : setTimeout(() => controller.abort(new DeadlineExceededError(capMs)), capMs);
    let error: unknown;
    try {
      return await fn(attempt, controller.signal);
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onCallerAbort);
    }

    if (signal?.aborted) throw signal.reason;
    if (!retryOn(error)) throw error;
    if (attempt >= attempts) throw new TooManyRetriesError(attempt, error, "no attempts left");
    const hinted = retryAfterMs?.(error);
    const pause = hinted ?? random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1));
    if (now() + pause + minAttemptMs > deadline) {
      throw new TooManyRetriesError(attempt, error, "the next attempt could not finish before the deadline");
    }
    await sleep(pause, signal);
  }
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP-date; undefined when absent or unusable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/[a-z]/i.test(value)) return undefined; // "-1", "1.5": neither form
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
