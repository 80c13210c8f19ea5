// A half-open circuit breaker, written by hand to show how: a rolling window of outcomes decides when an
// upstream is unhealthy; while open, calls are refused without touching it; after a pause a few probes decide
// whether it has recovered. Modelled on resilience4j's count-and-time semantics.
import { noLongerNeeded } from "./deadline.ts";

export type BreakerState = "closed" | "open" | "half_open";
export type StateChange = { breaker: string; from: BreakerState; to: BreakerState; reason: string };
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export type BreakerOptions = {
  name: string;
  /** Rolling window, kept in BUCKETS buckets: a call counts for between windowMs - windowMs/BUCKETS and windowMs. */
  windowMs?: number;
  /** No decision is taken with fewer calls than this in the window. */
  minCalls?: number;
  failureRatio?: number;
  slowCallMs?: number;
  slowCallRatio?: number;
  openMs?: number;
  halfOpenProbes?: number;
  /** Which outcomes are failures. Default: every thrown error, no returned value. */
  isFailure?: (outcome: Outcome) => boolean;
  now?: () => number;
  onStateChange?: (change: StateChange) => void;
};

export class CircuitOpenError extends Error {
  constructor(
    readonly breaker: string,
    /** Until the breaker lets a probe through; 0 while half-open with every probe slot taken. */
    readonly retryAfterMs: number,
  ) {
    super(`circuit for ${breaker} is open`);
    this.name = "CircuitOpenError";
  }
}

export type BreakerSnapshot = {
  name: string;
  state: BreakerState;
  calls: number;
  failures: number;
  slow: number;
  half_open_in_ms: number | null;
  /** For an upstream with several replicas (upstream/instances.ts): each one's own breaker and standing. */
  instances?: readonly (Omit<BreakerSnapshot, "instances"> & { url: string; outstanding: number; ejected_for_ms: number | null })[];
};

export type CircuitBreaker = {
  readonly name: string;
  readonly state: BreakerState;
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  snapshot(): BreakerSnapshot;
};

export const BREAKER_DEFAULTS = {
  windowMs: 10_000,
  minCalls: 5,
  failureRatio: 0.5,
  slowCallMs: 800,
  slowCallRatio: 1,
  openMs: 5_000,
  halfOpenProbes: 3,
};

const BUCKETS = 10;
const defaultIsFailure = (outcome: Outcome) => !outcome.ok;

export function createCircuitBreaker(options: BreakerOptions): CircuitBreaker {
  const { name, windowMs, minCalls, failureRatio, slowCallMs, slowCallRatio, openMs, halfOpenProbes } = { ...BREAKER_DEFAULTS, ...options };
  const isFailure = options.isFailure ?? defaultIsFailure;
  const now = options.now ?? Date.now;
  const onStateChange = options.onStateChange;

  // Ring of buckets; bucketEpoch[i] says which time slice bucket i currently holds.
  const bucketMs = windowMs / BUCKETS;
  const bucketEpoch = new Array<number>(BUCKETS).fill(-1);
  const bucketCalls = new Array<number>(BUCKETS).fill(0);
  const bucketFailures = new Array<number>(BUCKETS).fill(0);
  const bucketSlow = new Array<number>(BUCKETS).fill(0);

  let state: BreakerState = "closed";
  let openedAt = 0;
  let probesAdmitted = 0;
  let probesSucceeded = 0;
  // Bumped on every transition so outcomes of calls admitted in an earlier period are not misread.
  let generation = 0;

  const transition = (to: BreakerState, reason: string) => {
    if (to === state) return;
    const from = state;
    state = to;
    generation++;
    if (to === "open") openedAt = now();
    if (to === "half_open") {
      probesAdmitted = 0;
      probesSucceeded = 0;
    }
    if (to === "closed") resetWindow();
    onStateChange?.({ breaker: name, from, to, reason });
  };

  const resetWindow = () => {
    bucketEpoch.fill(-1);
    bucketCalls.fill(0);
    bucketFailures.fill(0);
    bucketSlow.fill(0);
  };

  const totals = () => {
    const current = Math.floor(now() / bucketMs);
    let calls = 0;
    let failures = 0;
    let slow = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (bucketEpoch[i]! > current - BUCKETS) {
        calls += bucketCalls[i]!;
        failures += bucketFailures[i]!;
        slow += bucketSlow[i]!;
      }
    }
    return { calls, failures, slow };
  };

  const record = (failed: boolean, wasSlow: boolean) => {
    const epoch = Math.floor(now() / bucketMs);
    const i = epoch % BUCKETS;
    if (bucketEpoch[i] !== epoch) {
      bucketEpoch[i] = epoch;
      bucketCalls[i] = 0;
      bucketFailures[i] = 0;
      bucketSlow[i] = 0;
    }
    bucketCalls[i]!++;
    if (failed) bucketFailures[i]!++;
    if (wasSlow) bucketSlow[i]!++;
    const { calls, failures, slow } = totals();
    if (calls < minCalls) return;
    if (failures / calls >= failureRatio) transition("open", `failure ratio ${failures}/${calls} reached ${failureRatio}`);
    else if (slow / calls >= slowCallRatio) transition("open", `slow-call ratio ${slow}/${calls} (over ${slowCallMs} ms) reached ${slowCallRatio}`);
  };

  /** open becomes half_open once openMs has passed; read from the clock whenever the breaker is touched. */
  const currentState = (): BreakerState => {
    if (state === "open" && now() - openedAt >= openMs) transition("half_open", `open for ${openMs} ms`);
    return state;
  };

  const settle = (callGeneration: number, probe: boolean, failed: boolean, wasSlow: boolean) => {
    if (callGeneration !== generation) return; // admitted before the last transition: no longer speaks for now
    if (!probe) return record(failed, wasSlow);
    if (failed) return transition("open", "a half-open probe failed");
    if (++probesSucceeded >= halfOpenProbes) transition("closed", `${halfOpenProbes} half-open probes succeeded`);
  };

  return {
    name,
    get state() {
      return currentState();
    },
    run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const s = currentState();
      if (s === "open") return Promise.reject(new CircuitOpenError(name, Math.max(0, openedAt + openMs - now())));
      const probe = s === "half_open";
      if (probe) {
        if (probesAdmitted >= halfOpenProbes) return Promise.reject(new CircuitOpenError(name, 0));
        probesAdmitted++;
      }
      const callGeneration = generation;
      const started = now();
      let settled = false;
      const finish = (failed: boolean) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        settle(callGeneration, probe, failed, now() - started > slowCallMs);
      };
      // A call abandoned by its caller (its deadline fired) is a failure now, whether or not fn ever settles.
      // A loser cancelled because nobody needs its answer any more says nothing about the upstream: it is
      // not recorded, and a probe slot it held goes to the next caller.
      const onAbort = () => {
        if (!noLongerNeeded(signal!)) return finish(true);
        settled = true;
        if (probe && callGeneration === generation) probesAdmitted--;
      };
      signal?.addEventListener("abort", onAbort, { once: true });

      let work: Promise<T>;
      try {
        work = fn();
      } catch (error) {
        work = Promise.reject(error);
      }
      return work.then(
        (value) => {
          finish(isFailure({ ok: true, value }));
          return value;
        },
        (error) => {
          finish(isFailure({ ok: false, error }));
          throw error;
        },
      );
    },
    snapshot() {
      const s = currentState();
      const { calls, failures, slow } = totals();
      return { name, state: s, calls, failures, slow, half_open_in_ms: s === "open" ? Math.max(0, openedAt + openMs - now()) : null };
    },
  };
}
