// Path parameters shared by the BFF's routers.
import { z } from "@hono/zod-openapi";
import { positiveIntString } from "@storefront/shared/validate";

export const productParams = z.strictObject({
  product_id: positiveIntString.openapi({ description: "A product's id: a positive integer in decimal.", example: "1" }),
});
