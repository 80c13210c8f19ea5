// The web app's one client of the BFF: every page's data and every form's change go through it. The shared
// upstream client owns each call's deadline (and shares concurrent identical GETs); this module decides what
// the pages see: an answer below 500 (the BFF's own verdict, 4xx included) or a BffUnavailableError.
import type { Histogram } from "@storefront/shared/observability/metrics";
import { createUpstreamClient, type FetchFn, type UpstreamReply } from "@storefront/shared/upstream/client";
import { outcomeOf, rootCause, UpstreamStatusError } from "@storefront/shared/upstream/errors";

/** readMs: a page's data; writeMs: a form's change; checkoutMs: POST /checkout and an order's cancel. */
export type BffDeadlines = { readMs: number; writeMs: number; checkoutMs: number };

// Each a little above the BFF's own (listing 1 s + 1 s, writes 2 s, checkout 5 s), so the BFF's verdict on a
// slow upstream (a degraded listing, a 504) arrives before our own deadline cuts it off.
export const DEFAULT_BFF_DEADLINES: BffDeadlines = { readMs: 3000, writeMs: 3000, checkoutMs: 6000 };

export type BffReply = UpstreamReply;

/**
 * The BFF could not give an answer a page can use: down, late, a 5xx (one of its upstreams failing, or its
 * breaker for one open), or a body that is not what it documents. `outcome` says which (the upstream client's
 * outcome names); `status` and `body` are the BFF's when it answered (checkout reads them: a 504 means "the
 * order may have been placed", a 503 UPSTREAM_UNAVAILABLE "nothing was done").
 */
export class BffUnavailableError extends Error {
  constructor(
    readonly outcome: string,
    readonly status: number | null,
    readonly body: unknown,
    options?: { cause?: unknown },
  ) {
    super(`the BFF is unavailable (${status ?? outcome})`, options);
    this.name = "BffUnavailableError";
  }
}

export type BffCall = {
  /** The user's access token, sent as `Authorization: Bearer`; none for anonymous calls. */
  token?: string | null;
  requestId?: string;
  /** Overrides the default deadline of the kind of call. */
  deadlineMs?: number;
  headers?: Record<string, string>;
};

export type BffClient = {
  /** A read: the reply for any status below 500. */
  get(path: string, call?: BffCall): Promise<BffReply>;
  /** A change, never retried: the reply for any status below 500. */
  send(method: string, path: string, call?: BffCall & { json?: unknown }): Promise<BffReply>;
  readonly deadlines: BffDeadlines;
};

function unavailable(err: unknown): BffUnavailableError {
  const cause = rootCause(err);
  if (cause instanceof UpstreamStatusError) return new BffUnavailableError(outcomeOf(err), cause.status, cause.body, { cause: err });
  return new BffUnavailableError(outcomeOf(err), null, null, { cause: err });
}

export function createBffClient(options: {
  baseUrl: string;
  fetch?: FetchFn;
  deadlines?: Partial<BffDeadlines>;
  duration?: Histogram;
}): BffClient {
  const deadlines = { ...DEFAULT_BFF_DEADLINES, ...options.deadlines };
  const upstream = createUpstreamClient("bff", options.baseUrl, {
    fetch: options.fetch,
    // No retries and no breaker of our own: the BFF already retries and breaks per upstream, and answers for
    // them (a 503 for favorites, say). Retrying that here would multiply its retries and the shopper's wait; a
    // breaker in front of the whole BFF would count one failing upstream's answers as the BFF's, open, and
    // turn a missing favorites list into the whole shop's 503 page. So the breaker never opens.
    retry: null,
    breaker: { minCalls: Number.MAX_SAFE_INTEGER },
    duration: options.duration,
  });

  const headersOf = (call: BffCall): Record<string, string> => ({ ...call.headers, ...(call.token ? { authorization: `Bearer ${call.token}` } : {}) });

  return {
    deadlines,
    async get(path, call = {}) {
      try {
        const body = await upstream.getJson(path, { deadline: call.deadlineMs ?? deadlines.readMs, requestId: call.requestId, headers: headersOf(call) });
        return { status: 200, body, headers: new Headers() };
      } catch (err) {
        // A 4xx is the BFF's answer about this request (no token, not found, bad input): the page decides.
        const cause = rootCause(err);
        if (cause instanceof UpstreamStatusError && cause.status < 500 && cause.status >= 400) return { status: cause.status, body: cause.body, headers: new Headers() };
        throw unavailable(err);
      }
    },
    async send(method, path, call = {}) {
      try {
        return await upstream.send(method, path, { deadline: call.deadlineMs ?? deadlines.writeMs, requestId: call.requestId, headers: headersOf(call), json: call.json });
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}

/** The BFF's error envelope's code (and the whole `error`), when the body is one. */
export function errorOf(body: unknown): { code: string; message: string; [field: string]: unknown } | null {
  const error = (body as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined;
  if (!error || typeof error.code !== "string") return null;
  return { ...error, code: error.code, message: typeof error.message === "string" ? error.message : "" };
}
