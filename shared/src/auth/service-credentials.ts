// A service's own identity for calls it makes for the system (the notifications worker asking favorites who
// to tell; later the orders saga): client credentials exchanged at the users service for a short-lived token
// with role "service", cached until shortly before it expires. No static secret travels with each request.
import { z } from "zod";
import type { UpstreamClient } from "../upstream/client.ts";
import { UpstreamInvalidResponseError } from "../upstream/errors.ts";

export type ServiceCredentials = {
  /** `{ authorization: "Bearer ..." }`, fetching a token when none is cached or it is about to expire. */
  headers(signal?: AbortSignal): Promise<{ authorization: string }>;
  /**
   * Drops the cached token after a 401 (the keys were rotated): the next call gets a new one. `rejected`:
   * the header that was refused; a token fetched since by another job is kept.
   */
  invalidate(rejected?: string): void;
};

/** The users service refused the client id and secret: a setting to fix, not a passing fault. */
export class ServiceCredentialsRefusedError extends Error {
  override name = "ServiceCredentialsRefusedError";
}

const tokenReply = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });

export function createServiceCredentials(options: {
  users: UpstreamClient;
  clientId: string;
  clientSecret: string;
  deadlineMs?: number;
  now?: () => number;
}): ServiceCredentials {
  const { users, clientId, clientSecret, deadlineMs = 2000, now = Date.now } = options;
  let cached: { header: string; renewAt: number } | null = null;
  let inflight: Promise<string> | null = null;

  const fetchToken = async (signal?: AbortSignal) => {
    const reply = await users.send("POST", "/auth/service-token", {
      deadline: deadlineMs,
      signal,
      json: { client_id: clientId, client_secret: clientSecret },
    });
    if (reply.status === 401 || reply.status === 400) {
      throw new ServiceCredentialsRefusedError(`the users service refused the credentials of client "${clientId}" (${reply.status})`);
    }
    const parsed = tokenReply.safeParse(reply.body);
    if (reply.status !== 200 || !parsed.success) throw new UpstreamInvalidResponseError(users.name, `service-token answered ${reply.status} with an unexpected body`);
    // Renewed at 80 % of its life, so a token in use never expires mid-call.
    cached = { header: `Bearer ${parsed.data.access_token}`, renewAt: now() + parsed.data.expires_in * 800 };
    return cached.header;
  };

  return {
    async headers(signal) {
      if (cached && now() < cached.renewAt) return { authorization: cached.header };
      // One exchange for all the jobs that need a token at once; the first caller's signal governs it.
      inflight ??= fetchToken(signal).finally(() => {
        inflight = null;
      });
      return { authorization: await inflight };
    },
    invalidate(rejected) {
      if (rejected === undefined || cached?.header === rejected) cached = null;
    },
  };
}
