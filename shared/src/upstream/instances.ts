// The replicas of one upstream when its address is a list (CART_URL=http://a:8003,http://b:8003): each call
// goes to the instance with the fewest calls in flight (ties taken in turn), every instance has a breaker of
// its own, and an instance that keeps failing is ejected for a while (Envoy's outlier detection, by hand), so a
// dead replica costs a few retried calls, not a breaker opened on the whole upstream. With every instance
// ejected, ejection is ignored (Envoy's panic mode): a guess beats refusing everything.
import { CircuitOpenError, createCircuitBreaker, type BreakerOptions, type BreakerSnapshot, type BreakerState, type CircuitBreaker } from "../circuit-breaker.ts";

export type Instance = {
  /** The base URL, without a trailing slash. */
  readonly base: string;
  readonly breaker: CircuitBreaker;
  /** Calls sent and not yet settled (the body read included). */
  outstanding: number;
  consecutiveFailures: number;
  ejectedUntil: number;
  /** Ejections in a row without a success between them: each one lasts twice as long as the last. */
  ejections: number;
};

export type InstanceSnapshot = BreakerSnapshot & { url: string; outstanding: number; ejected_for_ms: number | null };

export type InstancePool = {
  readonly instances: readonly Instance[];
  /** The instance for the next attempt: not one this call already tried while another is left. */
  pick(tried: ReadonlySet<Instance>): Instance;
  /** A call to the instance settled: ok, or a failure that speaks of the instance's health. */
  settle(instance: Instance, outcome: "ok" | "failure" | "refused" | "neutral"): void;
  /**
   * The instance answered `Connection: close`: it is shutting down (serve.ts's SHUTDOWN_DELAY_MS) and wants no
   * new calls. Left out for drainingMs, without counting as a failure; by then it has stopped or is back.
   */
  draining(instance: Instance): void;
  /** The pool as one breaker, for the callers that show or gauge an upstream's state. */
  readonly breaker: CircuitBreaker;
};

export const EJECTION = {
  /** Failures in a row (5xx, timeouts, resets) that eject an instance; a refused connection ejects at once. */
  afterFailures: 3,
  baseMs: 1_000,
  maxMs: 30_000,
  /** How long an instance that said it is shutting down is left out. */
  drainingMs: 5_000,
};

/** `http://a,http://b` -> the addresses, without trailing slashes; a single address is a list of one. */
export const parseUpstreamUrls = (value: string) =>
  value
    .split(",")
    .map((url) => url.trim().replace(/\/$/, ""))
    .filter((url) => url !== "");

const hostOf = (base: string) => {
  try {
    return new URL(base).host;
  } catch {
    return base;
  }
};

export function createInstancePool(
  name: string,
  bases: readonly string[],
  breakerOptions: Omit<BreakerOptions, "name">,
  now: () => number = breakerOptions.now ?? Date.now,
): InstancePool {
  if (bases.length === 0) throw new Error(`no address for ${name}`);
  // One address (a Kubernetes Service, compose's DNS) is one instance whose breaker is the upstream's, as before.
  const instances: Instance[] = bases.map((base) => ({
    base,
    breaker: createCircuitBreaker({ ...breakerOptions, name: bases.length === 1 ? name : `${name}@${hostOf(base)}` }),
    outstanding: 0,
    consecutiveFailures: 0,
    ejectedUntil: 0,
    ejections: 0,
  }));
  let turn = 0;

  const admits = (i: Instance) => i.breaker.state !== "open";
  const ejected = (i: Instance) => now() < i.ejectedUntil;

  const leastOutstanding = (candidates: Instance[]) => {
    // Start from a rotating index, so that equal instances take turns rather than the first one taking all.
    const start = turn++ % instances.length;
    let best: Instance | undefined;
    for (let k = 0; k < instances.length; k++) {
      const i = instances[(start + k) % instances.length]!;
      if (candidates.includes(i) && (!best || i.outstanding < best.outstanding)) best = i;
    }
    return best!;
  };

  const pick = (tried: ReadonlySet<Instance>) => {
    const untried = instances.filter((i) => !tried.has(i));
    const pool = untried.length ? untried : instances;
    const healthy = pool.filter((i) => admits(i) && !ejected(i));
    if (healthy.length) return leastOutstanding(healthy);
    const admitting = pool.filter(admits);
    if (admitting.length) return leastOutstanding(admitting); // every one ejected: panic mode
    return leastOutstanding(pool); // every breaker open: its breaker refuses the call at once
  };

  const eject = (i: Instance) => {
    i.ejectedUntil = now() + Math.min(EJECTION.maxMs, EJECTION.baseMs * 2 ** i.ejections);
    i.ejections++;
    i.consecutiveFailures = 0;
  };

  const settle = (i: Instance, outcome: "ok" | "failure" | "refused" | "neutral") => {
    if (outcome === "neutral") return;
    if (outcome === "ok") {
      i.consecutiveFailures = 0;
      i.ejections = 0;
      return;
    }
    // A failure that was already in flight when the instance was ejected does not extend the ejection.
    if (ejected(i)) return;
    if (outcome === "refused" || ++i.consecutiveFailures >= EJECTION.afterFailures) eject(i);
  };

  const draining = (i: Instance) => {
    if (instances.length > 1) i.ejectedUntil = Math.max(i.ejectedUntil, now() + EJECTION.drainingMs);
  };

  const aggregateState = (): BreakerState => {
    const states = instances.map((i) => i.breaker.state);
    if (states.includes("closed")) return "closed";
    return states.includes("half_open") ? "half_open" : "open";
  };

  const breaker: CircuitBreaker = instances.length === 1 ? instances[0]!.breaker : {
    name,
    get state() {
      return aggregateState();
    },
    run(fn, signal) {
      if (aggregateState() !== "open") return fn();
      const retryAfterMs = Math.min(...instances.map((i) => i.breaker.snapshot().half_open_in_ms ?? 0));
      return signal?.aborted ? Promise.reject(signal.reason) : Promise.reject(new CircuitOpenError(name, retryAfterMs));
    },
    snapshot() {
      const parts = instances.map((i) => i.breaker.snapshot());
      const state = aggregateState();
      const sum = (key: "calls" | "failures" | "slow") => parts.reduce((total, p) => total + p[key], 0);
      const instanceSnapshots: InstanceSnapshot[] = instances.map((i, k) => ({
        ...parts[k]!,
        url: i.base,
        outstanding: i.outstanding,
        ejected_for_ms: ejected(i) ? i.ejectedUntil - now() : null,
      }));
      return {
        name,
        state,
        calls: sum("calls"),
        failures: sum("failures"),
        slow: sum("slow"),
        half_open_in_ms: state === "open" ? Math.min(...parts.map((p) => p.half_open_in_ms ?? 0)) : null,
        instances: instanceSnapshots,
      };
    },
  };

  return { instances, pick, settle, draining, breaker };
}
