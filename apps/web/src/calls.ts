// Calls to the BFF on behalf of the request's user: their access token, the request id, and one second chance
// when the BFF refuses the token (401): the session is renewed and the call sent again. A refusal of the
// renewed token too ends the session (LoginRequiredError: errors.ts sends the browser to the login page).
import type { Context } from "hono";
import { BffUnavailableError, type BffCall, type BffReply } from "./bff.ts";
import type { WebEnv } from "./context.ts";

/** The user is not (or no longer) logged in, and the page needs them to be. */
export class LoginRequiredError extends Error {
  constructor(readonly sessionEnded: boolean) {
    super(sessionEnded ? "the session has ended" : "this page needs a logged-in user");
    this.name = "LoginRequiredError";
  }
}

type Options = Omit<BffCall, "token" | "requestId"> & { json?: unknown; anonymous?: boolean };

async function asUser(c: Context<WebEnv>, attempt: (token: string | null) => Promise<BffReply>, anonymous: boolean): Promise<BffReply> {
  const session = anonymous ? null : c.get("session");
  const reply = await attempt(session?.accessToken ?? null);
  if (reply.status !== 401 || !session) return reply;
  const { sessions } = c.get("services");
  const renewed = await sessions.renew(c);
  if (renewed) {
    const again = await attempt(renewed.accessToken);
    if (again.status !== 401) return again;
    sessions.clear(c);
  }
  throw new LoginRequiredError(true);
}

/** GET `path` as the user (or as a visitor with `anonymous`, e.g. the catalogue, which is the same for everyone). */
export function bffGet(c: Context<WebEnv>, path: string, options: Options = {}): Promise<BffReply> {
  const { bff } = c.get("services");
  const requestId = c.get("requestId");
  return asUser(c, (token) => bff.get(path, { ...options, token, requestId }), options.anonymous ?? false);
}

/** A change as the user: POST, PUT or DELETE. */
export function bffSend(c: Context<WebEnv>, method: string, path: string, options: Options = {}): Promise<BffReply> {
  const { bff } = c.get("services");
  const requestId = c.get("requestId");
  return asUser(c, (token) => bff.send(method, path, { ...options, token, requestId }), options.anonymous ?? false);
}

/** The session of a page that needs a logged-in user. */
export function requireSession(c: Context<WebEnv>) {
  const session = c.get("session");
  if (!session) throw new LoginRequiredError(false);
  return session;
}

/**
 * One part of a page that may fail alone (the admin's deliveries, say): null when the BFF cannot give it, and
 * the page says so in words. Anything else (a login needed, a 403, our own bug) still fails the page.
 */
export async function optionalPart<T>(load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof BffUnavailableError) return null;
    throw err;
  }
}
