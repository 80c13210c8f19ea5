// Who favorited a product, from the favorites service (GET /products/:id/favorited-by), one keyset page a call.
import { z } from "zod";
import { createUpstreamClient, UpstreamInvalidResponseError, type UpstreamClient, type UpstreamClientOptions } from "./upstream.ts";

const page = z.array(z.object({ user_id: z.number().int().positive() }));

export type FavoritesClient = {
  readonly upstream: UpstreamClient;
  /** user_ids after `after`, ascending, at most `limit`. A 404 (unknown product) throws UpstreamRejectedError. */
  favoritedBy(productId: number, after: number, limit: number, signal?: AbortSignal): Promise<number[]>;
};

export function createFavoritesClient(options: Omit<UpstreamClientOptions, "name">): FavoritesClient {
  const upstream = createUpstreamClient({ ...options, name: "favorites" });
  return {
    upstream,
    async favoritedBy(productId, after, limit, signal) {
      const path = `/products/${productId}/favorited-by?after=${after}&limit=${limit}`;
      const parsed = page.safeParse(await upstream.getJson(path, signal));
      if (!parsed.success) throw new UpstreamInvalidResponseError("favorites", `GET ${path}: ${parsed.error.message}`);
      return parsed.data.map((row) => row.user_id);
    },
  };
}
