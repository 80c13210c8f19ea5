// Pages for one role: the admin's and the courier's. A visitor is sent to the login page (requireSession); a
// logged-in user of another role gets the 403 page. Display only: the BFF checks the role of every call again.
import type { Role } from "@storefront/shared/auth/identity";
import type { Context } from "hono";
import type { BffReply } from "./bff.ts";
import { requireSession } from "./calls.ts";
import type { WebEnv } from "./context.ts";
import { ForbiddenPageError } from "./errors.ts";
import type { Session } from "./session.ts";

export function requireRole(c: Context<WebEnv>, role: Role, what: string): Session {
  const session = requireSession(c);
  if (session.role !== role) throw new ForbiddenPageError(what);
  return session;
}

/** The BFF refused the user's role (403: say a role changed since the token was issued): the same 403 page. */
export function refuseForbidden(reply: BffReply, what: string): BffReply {
  if (reply.status === 403) throw new ForbiddenPageError(what);
  return reply;
}
