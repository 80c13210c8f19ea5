// /cart: the calling user's cart, forwarded to the cart service.
import { Hono } from "hono";
import { z } from "zod";
import { positiveInt, validate } from "@storefront/shared/validate";
import { forward } from "../forward.ts";
import { currentUser, requireUser, type UserVariables } from "../middleware/user-id.ts";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { productParams } from "./params.ts";

const quantity = z.number().int().min(1).max(999);
const addBody = z.strictObject({ product_id: positiveInt, quantity: quantity.optional() });
const setBody = z.strictObject({ quantity });

export const cartRoutes = (cart: UpstreamClient, deadlineMs: number) =>
  new Hono<{ Variables: UserVariables }>()
    .use(requireUser())
    .get("/", (c) => forward(c, cart, deadlineMs, "GET", `/users/${currentUser(c)}/cart`))
    .post("/", validate("json", addBody), (c) =>
      forward(c, cart, deadlineMs, "POST", `/users/${currentUser(c)}/cart`, c.req.valid("json")),
    )
    .put("/:product_id", validate("param", productParams), validate("json", setBody), (c) =>
      forward(c, cart, deadlineMs, "PUT", `/users/${currentUser(c)}/cart/${c.req.valid("param").product_id}`, c.req.valid("json")),
    )
    .delete("/:product_id", validate("param", productParams), (c) =>
      forward(c, cart, deadlineMs, "DELETE", `/users/${currentUser(c)}/cart/${c.req.valid("param").product_id}`),
    );
