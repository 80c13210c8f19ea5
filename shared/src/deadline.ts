// A deadline shared by several calls: one timer raced against each of them with Promise.race, which
// also aborts them through an AbortController when it fires. Bun's AbortSignal.timeout alone is reported
// to fire late against unreachable hosts (oven-sh/bun #13302), so the timer, not the fetch, decides.

export class DeadlineExceededError extends Error {
  constructor(readonly ms: number) {
    super(`deadline of ${ms} ms exceeded`);
    this.name = "DeadlineExceededError";
  }
}

export type Deadline = {
  /** When it fires, on the Date.now() clock. */
  readonly expiresAt: number;
  /** Time left, in whole ms, never below 0 (what x-deadline-ms carries). */
  remainingMs(): number;
  /** Aborted when the deadline fires or `abort()` is called; pass it to fetch. */
  readonly signal: AbortSignal;
  /** Settles like `work`, or rejects with DeadlineExceededError when the deadline fires first. */
  race<T>(work: Promise<T>): Promise<T>;
  /** Abort whatever still runs under this deadline (the losers) and stop the timer. */
  abort(reason?: unknown): void;
  /** Stop the timer without aborting (everything finished). */
  clear(): void;
};

// One reason object for every "finished, stop the rest": creating an Error per request showed in profiles.
// It also tells a loser that was cancelled (not a sign of an unhealthy upstream) from a call whose deadline fired.
export const NO_LONGER_NEEDED = new Error("aborted: the result is no longer needed");

/** Whether a signal was aborted only because nobody needs the result any more. */
export const noLongerNeeded = (signal: AbortSignal) => signal.aborted && signal.reason === NO_LONGER_NEEDED;

export function createDeadline(ms: number): Deadline {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineExceededError(ms);
      reject(error);
      controller.abort(error);
    }, ms);
  });
  expired.catch(() => {}); // nobody may be racing it when it fires
  const expiresAt = Date.now() + ms;
  return {
    expiresAt,
    remainingMs: () => Math.max(0, Math.round(expiresAt - Date.now())),
    signal: controller.signal,
    race: (work) => Promise.race([work, expired]),
    abort(reason) {
      clearTimeout(timer);
      if (!controller.signal.aborted) controller.abort(reason ?? NO_LONGER_NEEDED);
    },
    clear: () => clearTimeout(timer),
  };
}

/** Runs one call under its own deadline; the call receives the signal that aborts it. */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = createDeadline(ms);
  try {
    return await deadline.race(work(deadline.signal));
  } finally {
    deadline.abort();
  }
}
