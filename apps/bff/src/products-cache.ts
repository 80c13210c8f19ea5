// The catalogue pages the listing shows, cached per products path: a page younger than ttlMs is served without
// calling products; for swrMs more it is still served while one background call per page refreshes it
// (stale-while-revalidate); and when products fails, a copy younger than staleMaxMs is served instead of an
// error (stale-if-error). At most maxEntries pages are kept, the least recently written dropped first.
// A change of a product anywhere (products broadcasts product.changed; products-invalidation.ts hears it on
// every replica) drops the pages: a changed price is never served from this cache as current. A dropped copy
// lives on only as the stale-if-error fallback, for when products fails, and then the listing says `stale`
// (orders re-reads prices at checkout, so an old price shown during an outage is never charged). The TTL is
// the backstop for changes nobody heard of (the subscription was down; it drops everything when it is back).
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
   * A product changed: every page is asked of products again before it is served from here, and no answer to
   * a call begun before the drop is kept (it may predate the change). The copies stay only as the fallback
   * when products fails.
   */
  drop(): void;
};

const ignore = () => {};

export function createProductsCache(options: ProductsCacheOptions): ProductsCache {
  const { products, ttlMs, swrMs, staleMaxMs, refreshDeadlineMs, maxEntries = 256, now = Date.now } = options;
  // Kept as long as any use of it allows: the stale-if-error fallback, or the cache's own window.
  const keepMs = Math.max(staleMaxMs, ttlMs + swrMs);
  /** `dropped`: a product changed since it was fetched; served only as the stale-if-error fallback. */
  const entries = new Map<string, { items: CatalogueItem[]; at: number; dropped: boolean }>();
  const refreshing = new Set<string>();
  /** Moves on at every drop: an answer is kept only if no drop happened since its call began. */
  let generation = 0;
  /** The cache's call in flight per path, and the generation it began in. */
  const inFlight = new Map<string, { generation: number; settled: Promise<void> }>();

  const get = (path: string) => {
    const entry = entries.get(path);
    if (!entry) return undefined;
    const ageMs = now() - entry.at;
    if (ageMs > keepMs) {
      entries.delete(path);
      return undefined;
    }
    return { items: entry.items, ageMs, dropped: entry.dropped };
  };

  const put = (path: string, items: CatalogueItem[]) => {
    entries.delete(path); // re-insert: Map order is then least recently written first
    entries.set(path, { items, at: now(), dropped: false });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  };

  const drop = () => {
    generation++;
    for (const entry of entries.values()) entry.dropped = true;
  };

  async function fetchPage(path: string, call: UpstreamCall): Promise<CatalogueItem[]> {
    const began = generation;
    // The upstream client lets concurrent GETs of one path share a call: one begun before the drop would hand
    // this caller the old page, which it would then keep. Wait that call out (within this caller's deadline).
    const earlier = inFlight.get(path);
    if (earlier && earlier.generation !== began) await (typeof call.deadline === "number" ? earlier.settled : call.deadline.race(earlier.settled));
    const items = products.getJson(path, call, toCatalogue);
    const settled = items.then(ignore, ignore);
    inFlight.set(path, { generation: began, settled });
    void settled.then(() => {
      if (inFlight.get(path)?.settled === settled) inFlight.delete(path);
    });
    const page = await items;
    if (generation === began) put(path, page);
    return page;
  }

  /** One refresh per page at a time; its failure leaves the copy as it is. */
  const refresh = (path: string, requestId: string) => {
    if (refreshing.has(path)) return;
    refreshing.add(path);
    fetchPage(path, { deadline: refreshDeadlineMs, requestId })
      .catch(ignore)
      .finally(() => refreshing.delete(path));
  };

  return {
    drop,
    async page(path, call) {
      const cached = get(path);
      if (cached && !cached.dropped && cached.ageMs < ttlMs + swrMs) {
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
