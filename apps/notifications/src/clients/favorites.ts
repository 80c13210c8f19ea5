// Who favorited a product, from the favorites service (GET /products/:id/favorited-by), one keyset page a call,
// asked with the worker's service token (the list is private: services and admins only).
import { z } from "zod";
import { createUpstreamClient, type UpstreamClient } from "@storefront/shared/upstream/client";
import { UpstreamInvalidResponseError } from "@storefront/shared/upstream/errors";
import type { WorkerClientOptions } from "./options.ts";
import { withServiceToken } from "@storefront/shared/auth/with-service-token";

const page = z.array(z.object({ user_id: z.number().int().positive() }));

export type FavoritesClient = {
  readonly upstream: UpstreamClient;
  /** user_ids after `after`, ascending, at most `limit`. A 404 (unknown product) throws UpstreamStatusError. */
  favoritedBy(productId: number, after: number, limit: number, signal?: AbortSignal): Promise<number[]>;
};

export function createFavoritesClient(options: WorkerClientOptions): FavoritesClient {
  const upstream = createUpstreamClient("favorites", options.baseUrl, { fetch: options.fetch, breaker: options.breaker, retry: null });
  const parse = (body: unknown) => {
    const parsed = page.safeParse(body);
    if (!parsed.success) throw new UpstreamInvalidResponseError("favorites", `favorited-by: ${parsed.error.message}`);
    return parsed.data.map((row) => row.user_id);
  };
  return {
    upstream,
    favoritedBy(productId, after, limit, signal) {
      return withServiceToken(options.credentials, signal, (headers) =>
        upstream.getJson(`/products/${productId}/favorited-by?after=${after}&limit=${limit}`, { deadline: options.deadlineMs, signal, headers }, parse),
      );
    },
  };
}
