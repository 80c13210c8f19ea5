// Who is calling: the x-user-id header, until real authentication replaces this one middleware.
import { createMiddleware } from "hono/factory";
import { AppError } from "@storefront/shared/errors";
import { positiveIntString } from "@storefront/shared/validate";

export type UserVariables = { userId: number | null };


/** Sets `userId` (null when the header is absent); a malformed header is a 400. */
export const userId = () =>
  createMiddleware<{ Variables: UserVariables }>(async (c, next) => {
    const raw = c.req.header("x-user-id");
    if (raw === undefined) {
      c.set("userId", null);
    } else {
      const parsed = positiveIntString.safeParse(raw);
      if (!parsed.success) throw new AppError(400, "BAD_REQUEST", "x-user-id must be a positive integer");
      c.set("userId", parsed.data);
    }
    await next();
  });

/** For routers that act on the user's own data: 401 before anything else is looked at. */
export const requireUser = () =>
  createMiddleware<{ Variables: UserVariables }>(async (c, next) => {
    if (c.get("userId") === null) throw new AppError(401, "UNAUTHENTICATED", "x-user-id header is required");
    await next();
  });

/** The user of a request that passed requireUser(). */
export const currentUser = (c: { get(key: "userId"): number | null }): number => {
  const id = c.get("userId");
  if (id === null) throw new AppError(401, "UNAUTHENTICATED", "x-user-id header is required");
  return id;
};
