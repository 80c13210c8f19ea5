// The last good answer per key, with its age: fresh for a short TTL (served without calling the upstream),
// then served while a refresh runs in the background (stale-while-revalidate), and kept as a fallback for
// when the upstream fails (stale-if-error) until it is older than maxAgeMs.
export type CachedValue<T> = { value: T; ageMs: number };

export type StaleCache<T> = {
  put(key: string, value: T): void;
  /** The value and its age, if one younger than maxAgeMs is kept. */
  get(key: string): CachedValue<T> | undefined;
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
      const ageMs = now() - entry.at;
      if (ageMs > maxAgeMs) {
        entries.delete(key);
        return undefined;
      }
      return { value: entry.value, ageMs };
    },
  };
}
