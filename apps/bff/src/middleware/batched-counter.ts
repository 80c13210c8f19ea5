// A rate-limit counter that spares Redis a round trip per request while a key is far from its limit. The
// Redis call was the largest part of the BFF's own cost per listing (bench, scenario 6): one EVALSHA,
// its encoding, parsing and promise chain, for a user nowhere near 600 a minute.
//
// How: what Redis last said of a key (remaining, window end) is kept here. While the remaining points minus
// the hits not yet sent stay above `margin`, and fewer than `batch` hits wait, a hit is admitted here; the
// waiting hits are sent together, as one consume of n points, `flushMs` later or with the hit that would
// make `batch`. Within `margin` of the limit, when nothing is known of the key, or once its window is over,
// every hit goes to Redis at once (with whatever waits), so one replica refuses exactly as without
// batching. Several replicas: a replica admits fewer than `batch` hits on a view the others may have
// outrun (when it saw little traffic while they saw much), so N replicas may pass the quota by at most
// (N - 1) x (batch - 1): 14 of 600 a minute for two. Login and registration limits are never batched.
import type { Counter, Hit, Quota } from "./rate-limit-store.ts";

export type BatchingOptions = {
  /** How long hits wait here before they are sent together. */
  flushMs?: number;
  /** Keys remembered at most (the oldest is sent and forgotten first). */
  maxKeys?: number;
  now?: () => number;
  /** A batch Redis could not take; its points are then lost (counted low, never refused wrongly). */
  onFlushError?: (error: unknown) => void;
};

/**
 * `remaining`: the lowest Redis has said in this window; `inflight`: points sent and not yet answered;
 * `pending`: points admitted here and not yet sent. What this replica may still admit: remaining - inflight - pending.
 */
type State = { remaining: number; resetAt: number; pending: number; inflight: number; timer: ReturnType<typeof setTimeout> | undefined };

export const DEFAULT_FLUSH_MS = 100;

/** Within this many points of the limit every hit is counted in Redis before it is answered. */
export const marginOf = (quota: Quota) => Math.max(10, Math.ceil(quota.points / 10));
/** At most this many hits are admitted here before they are sent. */
export const batchOf = (quota: Quota) => Math.max(1, Math.floor(marginOf(quota) / 4));

export function batchedCounter(inner: Counter, quota: Quota, options: BatchingOptions = {}): Counter & { flushAll(): Promise<void> } {
  const { flushMs = DEFAULT_FLUSH_MS, maxKeys = 100_000, now = Date.now, onFlushError } = options;
  const margin = marginOf(quota);
  const batch = batchOf(quota);
  const states = new Map<string, State>();

  /** Sends the key's pending hits (if any) with `extra` more, and keeps what Redis answers. */
  const send = async (key: string, state: State | undefined, extra: number): Promise<Hit | undefined> => {
    const points = (state?.pending ?? 0) + extra;
    if (points === 0) return undefined;
    let sent = state;
    if (!sent) {
      if (states.size >= maxKeys) forgetOldest();
      // Learned from this first answer; until then nothing is admitted here (remaining 0).
      sent = { remaining: 0, resetAt: Infinity, pending: 0, inflight: 0, timer: undefined };
      states.set(key, sent);
    }
    clearTimeout(sent.timer);
    sent.timer = undefined;
    sent.pending = 0;
    sent.inflight += points;
    let hit: Hit;
    try {
      hit = await inner.hit(key, points);
    } finally {
      sent.inflight -= points;
    }
    const first = sent.resetAt === Infinity;
    // Answers may arrive out of order: within a window the count only grows, so the lowest remaining is the news.
    sent.remaining = first ? hit.remaining : Math.min(sent.remaining, hit.remaining);
    if (first) sent.resetAt = now() + hit.resetMs;
    return hit;
  };

  const forgetOldest = () => {
    const [key, state] = states.entries().next().value!;
    states.delete(key);
    if (state.pending > 0) flushInBackground(key, state);
  };

  const flushInBackground = (key: string, state: State) => {
    send(key, state, 0).catch((err) => onFlushError?.(err));
  };

  return {
    async hit(key, points = 1) {
      const state = states.get(key);
      const t = now();
      if (
        state &&
        t < state.resetAt &&
        state.pending + points < batch &&
        state.remaining - state.inflight - state.pending - points >= margin
      ) {
        state.pending += points;
        state.timer ??= setTimeout(() => flushInBackground(key, state), flushMs);
        return { allowed: true, remaining: state.remaining - state.inflight - state.pending, resetMs: state.resetAt - t };
      }
      // Its window is over: start again from what Redis says (anything still pending goes with this hit).
      if (state && t >= state.resetAt && state.inflight === 0) {
        states.delete(key);
        return (await send(key, undefined, points + state.pending))!;
      }
      return (await send(key, states.get(key), points))!;
    },
    async reset(key) {
      const state = states.get(key);
      if (state) clearTimeout(state.timer);
      states.delete(key);
      await inner.reset(key);
    },
    /** Sends every key's pending hits now (at shutdown). */
    async flushAll() {
      await Promise.allSettled([...states].map(([key, state]) => send(key, state, 0)));
    },
  };
}
