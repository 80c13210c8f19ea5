// /users/:id: an account's public profile, for the user themself, an admin or a service.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { authenticate, requireSelf } from "@storefront/shared/auth/authenticate";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import { AppError } from "@storefront/shared/errors";
import { idParams, validate } from "@storefront/shared/validate";
import { findUser } from "../db/users.ts";

export const usersRoutes = (sql: Sql, verifier: TokenVerifier) =>
  new Hono().get("/:id", authenticate(verifier), requireSelf("id"), validate("param", idParams), async (c) => {
    const { id } = c.req.valid("param");
    const user = await findUser(sql, id);
    if (!user) throw new AppError(404, "NOT_FOUND", `no user ${id}`);
    return c.json(user);
  });
