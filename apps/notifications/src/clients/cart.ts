// How many lines a user's cart has now, from the cart service (GET /users/:id/cart).
import { z } from "zod";
import { createUpstreamClient, UpstreamInvalidResponseError, type UpstreamClient, type UpstreamClientOptions } from "./upstream.ts";

const lines = z.array(z.object({ product_id: z.number(), quantity: z.number() }));

export type CartClient = {
  readonly upstream: UpstreamClient;
  cartLines(userId: number, signal?: AbortSignal): Promise<number>;
};

export function createCartClient(options: Omit<UpstreamClientOptions, "name">): CartClient {
  const upstream = createUpstreamClient({ ...options, name: "cart" });
  return {
    upstream,
    async cartLines(userId, signal) {
      const path = `/users/${userId}/cart`;
      const parsed = lines.safeParse(await upstream.getJson(path, signal));
      if (!parsed.success) throw new UpstreamInvalidResponseError("cart", `GET ${path}: ${parsed.error.message}`);
      return parsed.data.length;
    },
  };
}
