// /favorites: the calling user's favorites, forwarded to the favorites service.
import { Hono } from "hono";
import { z } from "zod";
import { positiveInt, validate } from "@storefront/shared/validate";
import { forward } from "../forward.ts";
import { currentUser, requireUser, type UserVariables } from "../middleware/user-id.ts";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { productParams } from "./params.ts";

const addBody = z.strictObject({ product_id: positiveInt });

export const favoritesRoutes = (favorites: UpstreamClient, deadlineMs: number) =>
  new Hono<{ Variables: UserVariables }>()
    .use(requireUser())
    .get("/", (c) => forward(c, favorites, deadlineMs, "GET", `/users/${currentUser(c)}/favorites`))
    .post("/", validate("json", addBody), (c) =>
      forward(c, favorites, deadlineMs, "POST", `/users/${currentUser(c)}/favorites`, c.req.valid("json")),
    )
    .delete("/:product_id", validate("param", productParams), (c) =>
      forward(c, favorites, deadlineMs, "DELETE", `/users/${currentUser(c)}/favorites/${c.req.valid("param").product_id}`),
    );
