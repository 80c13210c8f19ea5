// How many lines a user's cart has now, from the cart service (GET /users/:id/cart), asked with the worker's
// service token (a user's cart is not for just anyone).
import { z } from "zod";
import { createUpstreamClient, type UpstreamClient } from "@storefront/shared/upstream/client";
import { UpstreamInvalidResponseError } from "@storefront/shared/upstream/errors";
import type { WorkerClientOptions } from "./options.ts";
import { withServiceToken } from "@storefront/shared/auth/with-service-token";

const lines = z.array(z.object({ product_id: z.number(), quantity: z.number() }));

export type CartClient = {
  readonly upstream: UpstreamClient;
  cartLines(userId: number, signal?: AbortSignal): Promise<number>;
};

export function createCartClient(options: WorkerClientOptions): CartClient {
  const upstream = createUpstreamClient("cart", options.baseUrl, { fetch: options.fetch, breaker: options.breaker, retry: null });
  const parse = (body: unknown) => {
    const parsed = lines.safeParse(body);
    if (!parsed.success) throw new UpstreamInvalidResponseError("cart", `cart: ${parsed.error.message}`);
    return parsed.data.length;
  };
  return {
    upstream,
    cartLines(userId, signal) {
      return withServiceToken(options.credentials, signal, (headers) =>
        upstream.getJson(`/users/${userId}/cart`, { deadline: options.deadlineMs, signal, headers }, parse),
      );
    },
  };
}
