// What every public route may answer besides its own success: the one error envelope, which statuses carry
// it and why, and the security requirements of routes that need or accept an access token.
import { z } from "@hono/zod-openapi";
import { DEFAULT_BODY_LIMIT_BYTES } from "@storefront/shared/service-app";
import { DeliveryStatus } from "../routes/delivery-status.ts";

/** The name of the security scheme (HTTP bearer, a JWT from POST /auth/login). */
export const BEARER_AUTH = "bearerAuth";
export const BEARER_SCHEME = {
  type: "http" as const,
  scheme: "bearer",
  bearerFormat: "JWT",
  description: "An access token from POST /auth/login (or /auth/refresh), sent as `Authorization: Bearer <access_token>`.",
};
/** The route needs an access token. */
export const needsToken: Record<string, string[]>[] = [{ [BEARER_AUTH]: [] }];
/** The route answers anonymous callers too, and personalises its answer for a token. */
export const acceptsToken: Record<string, string[]>[] = [{}, { [BEARER_AUTH]: [] }];

/** One product a checkout could not reserve, in OUT_OF_STOCK's `error.products`. */
export const StockShortage = z
  .strictObject({
    product_id: z.number().int().positive(),
    requested: z.number().int().positive().openapi({ description: "The quantity in the cart." }),
    available: z.number().int().min(0).openapi({ description: "What could be reserved when the order was placed." }),
  })
  .openapi("StockShortage");

export const ErrorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.string().openapi({
        description: "Machine-readable: BAD_REQUEST, UNAUTHENTICATED, INVALID_CREDENTIALS, FORBIDDEN, NOT_FOUND, CONFLICT, EMAIL_TAKEN, "
          + "PAYLOAD_TOO_LARGE, RATE_LIMITED, INTERNAL, UPSTREAM_ERROR, UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, AUTH_UNAVAILABLE; "
          + "at checkout also CART_EMPTY, PAYMENT_DECLINED, OUT_OF_STOCK, ORDER_CANCELLED, IDEMPOTENCY_IN_PROGRESS, IDEMPOTENCY_KEY_REUSED, NOT_CANCELLABLE on a cancel, "
          + "and INVALID_TRANSITION on a delivery's change.",
        example: "BAD_REQUEST",
      }),
      message: z.string().openapi({ description: "For people; never parse it.", example: "invalid json: quantity: Too big: expected number to be <=999" }),
      // Details some codes carry beside code and message (AppError's `details` in the services).
      order_id: z.number().int().positive().optional().openapi({ description: "PAYMENT_DECLINED, OUT_OF_STOCK, ORDER_CANCELLED: the order the checkout made, now cancelled." }),
      products: z.array(StockShortage).optional().openapi({ description: "OUT_OF_STOCK: the products short, with what was asked for and what there was." }),
      product_ids: z
        .array(z.number().int().positive())
        .optional()
        .openapi({ description: "CONFLICT at checkout: the products in the cart that are no longer sold." }),
      status: DeliveryStatus.optional().openapi({ description: "INVALID_TRANSITION: the delivery's status now, which the change does not apply to." }),
    }),
  })
  .openapi("ErrorBody");

type Header = { description: string; schema: { type: "string" } };
export type Headers = Record<string, Header>;
export const header = (description: string): Header => ({ description, schema: { type: "string" } });
export const retryAfter = header("Seconds to wait before trying again.");

export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504;

const DEFAULTS: Record<ErrorStatus, { description: string; headers?: Headers }> = {
  400: { description: "BAD_REQUEST: the path, query or body does not match this operation's schema, or the body is not JSON." },
  401: {
    description:
      "UNAUTHENTICATED: no access token where one is needed, or an Authorization header that is not a valid Bearer token " +
      "(malformed, expired, not signed by the users service): a bad token is refused even on routes that also serve anonymous callers.",
    headers: { "WWW-Authenticate": header('The challenge (RFC 6750): `Bearer`, or `Bearer error="invalid_token", error_description="..."`.') },
  },
  402: { description: "PAYMENT_DECLINED" },
  403: { description: "FORBIDDEN: the token is valid but may not do this (a customer on an admin route, a service token on a user's own data)." },
  404: { description: "NOT_FOUND" },
  409: { description: "CONFLICT" },
  413: { description: `PAYLOAD_TOO_LARGE: the body is over ${DEFAULT_BODY_LIMIT_BYTES} bytes, declared in Content-Length or streamed.` },
  415: { description: "The body's Content-Type is not application/json (code BAD_REQUEST)." },
  422: { description: "Unprocessable" },
  429: {
    description: "RATE_LIMITED: too many requests from this user (or client IP when anonymous; on login and registration also per email).",
    headers: {
      "Retry-After": retryAfter,
      RateLimit: header('Quota left, e.g. `"user";r=0;t=18` (draft-ietf-httpapi-ratelimit-headers).'),
      "RateLimit-Policy": header('The quota, e.g. `"user";q=600;w=60`.'),
    },
  },
  500: { description: "INTERNAL: a fault of the BFF's own; the request id in x-request-id finds it in the logs." },
  502: { description: "UPSTREAM_ERROR: the service behind this route failed, answered something unexpected or could not be reached." },
  503: {
    description: "UPSTREAM_UNAVAILABLE: the service behind this route keeps failing and is not being called for a while; or AUTH_UNAVAILABLE: tokens cannot be checked right now.",
    headers: { "Retry-After": retryAfter },
  },
  504: { description: "UPSTREAM_TIMEOUT: the service behind this route did not answer within its deadline." },
};

/** Every public route can meet these: the rate limit, its own fault, its upstream's (or the token keys'). */
const ALWAYS = [429, 500, 502, 503, 504] as const;

type Override = string | { description: string; headers?: Headers };

/**
 * The error responses of a route: those every route has, `extra` ones (401 where the route looks at the
 * Authorization header), and route-specific descriptions (e.g. which 409), with headers when given as an object.
 */
export function errorResponses<S extends ErrorStatus>(extra: readonly S[], overrides: Partial<Record<ErrorStatus, Override>> = {}) {
  const responses = {} as Record<S | (typeof ALWAYS)[number], { description: string; headers?: Headers; content: { "application/json": { schema: typeof ErrorBody } } }>;
  for (const status of [...extra, ...ALWAYS].sort((a, b) => a - b)) {
    const override = overrides[status];
    const { description, headers } = override === undefined ? DEFAULTS[status] : typeof override === "string" ? { ...DEFAULTS[status], description: override } : override;
    responses[status as S] = { description, ...(headers ? { headers } : {}), content: { "application/json": { schema: ErrorBody } } };
  }
  return responses;
}

/** `{ content: { "application/json": { schema } } }` with a description: a JSON success response. */
export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });

/** A JSON request body that must be there (an absent one is validated as `{}` and so refused). */
export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { "application/json": { schema } },
});
