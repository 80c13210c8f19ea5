// The last good answer per key, served when the upstream fails (stale-if-error) while younger than maxAgeMs.
export type StaleCache<T> = {
  put(key: string, value: T): void;
  /** The value if one younger than maxAgeMs is kept. */
  get(key: string): T | undefined;
};

export function createStaleCache<T>(options: { maxAgeMs: number; maxEntries?: number; now?: () => number }): StaleCache<T> {
  const { maxAgeMs, maxEntries = 256, now = Date.now } = options;
  const entries = new Map<string, { value: T; at: number }>();
  return {
    put(key, value) {
      entries.delete(key); // re-insert: Map order is then least recently written first
      entries.set(key, { value, at: now() });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (now() - entry.at > maxAgeMs) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
  };
}
