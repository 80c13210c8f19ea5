// Ending work early on an AbortSignal: as an Error (BullMQ aborts jobs with a string reason, and a rejection
// should always carry an Error), and as a promise that settles as soon as the signal fires.

/** The signal's reason as an Error. */
export const abortError = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error(`aborted: ${String(signal.reason ?? "no reason given")}`);

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts (work is left to its own signal). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {}); // settles later with nobody listening
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
