// The catalogue pages the listing shows, cached per products path: a page younger than ttlMs is served without
// calling products; for swrMs more it is still served while one background call per page refreshes it
// (stale-while-revalidate); and when products fails, a copy younger than staleMaxMs is served instead of an
// error (stale-if-error). At most maxEntries pages are kept, the least recently written dropped first.
import type { Timing } from "@storefront/shared/observability/request-context";
import type { UpstreamCall, UpstreamClient } from "@storefront/shared/upstream/client";
import { toCatalogue, type CatalogueItem } from "./listing-shapes.ts";

export type ProductsCacheOptions = {
  products: UpstreamClient;
  ttlMs: number;
  swrMs: number;
  staleMaxMs: number;
  /** Deadline of a background refresh (nobody waits for it; it must still end). */
  refreshDeadlineMs: number;
  maxEntries?: number;
  now?: () => number;
};

export type CataloguePage = { items: CatalogueItem[]; /** served from an old copy because products failed */ stale: boolean };

export type ProductsCache = {
  /** The page at `path`: cached, live (and kept), or on failure a copy young enough; else the failure is thrown. */
  page(path: string, call: UpstreamCall & { requestId: string; timings: Timing[] }): Promise<CataloguePage>;
  /**
   * After a change made through this BFF: the next listing asks products again. The copies stay as the
   * fallback when products fails. (Changes made elsewhere, or through another BFF, wait for the TTL.)
   */
  expire(): void;
};

const ignore = () => {};

export function createProductsCache(options: ProductsCacheOptions): ProductsCache {
  const { products, ttlMs, swrMs, staleMaxMs, refreshDeadlineMs, maxEntries = 256, now = Date.now } = options;
  // Kept as long as any use of it allows: the stale-if-error fallback, or the cache's own window.
  const keepMs = Math.max(staleMaxMs, ttlMs + swrMs);
  const entries = new Map<string, { items: CatalogueItem[]; at: number }>();
  const refreshing = new Set<string>();

  const get = (path: string) => {
    const entry = entries.get(path);
    if (!entry) return undefined;
    const ageMs = now() - entry.at;
    if (ageMs > keepMs) {
      entries.delete(path);
      return undefined;
    }
    return { items: entry.items, ageMs };
  };

  const put = (path: string, items: CatalogueItem[]) => {
    entries.delete(path); // re-insert: Map order is then least recently written first
    entries.set(path, { items, at: now() });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  };

  const expire = () => {
    const pastFreshAndSwr = now() - ttlMs - swrMs - 1;
    for (const entry of entries.values()) entry.at = Math.min(entry.at, pastFreshAndSwr);
  };

  const fetchPage = (path: string, call: UpstreamCall) =>
    products.getJson(path, call, toCatalogue).then((items) => {
      put(path, items);
      return items;
    });

  /** One refresh per page at a time; its failure leaves the copy as it is. */
  const refresh = (path: string, requestId: string) => {
    if (refreshing.has(path)) return;
    refreshing.add(path);
    fetchPage(path, { deadline: refreshDeadlineMs, requestId })
      .catch(ignore)
      .finally(() => refreshing.delete(path));
  };

  return {
    expire,
    async page(path, call) {
      const cached = get(path);
      if (cached && cached.ageMs < ttlMs + swrMs) {
        if (cached.ageMs >= ttlMs) refresh(path, call.requestId);
        call.timings.push({ name: "products", ms: 0, outcome: "cache" });
        return { items: cached.items, stale: false };
      }
      try {
        return { items: await fetchPage(path, call), stale: false };
      } catch (err) {
        const copy = get(path);
        if (copy && copy.ageMs <= staleMaxMs) return { items: copy.items, stale: true };
        throw err;
      }
    },
  };
}
