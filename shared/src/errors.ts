// The one error envelope every app answers with: { error: { code, message } }.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "./observability/logger.ts";

export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHENTICATED"
  | "INVALID_CREDENTIALS"
  | "FORBIDDEN"
  | "EMAIL_TAKEN"
  | "RATE_LIMITED"
  | "PAYLOAD_TOO_LARGE"
  | "AUTH_UNAVAILABLE"
  | "NOT_FOUND"
  | "CONFLICT"
  | "INTERNAL"
  | "NOT_READY"
  | "UPSTREAM_ERROR"
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_UNAVAILABLE"
  | "INJECTED_FAILURE"
  // Checkout (orders, payments, inventory's reservations, cart).
  | "CART_EMPTY"
  | "OUT_OF_STOCK"
  | "PAYMENT_DECLINED"
  | "PAYMENT_IN_PROGRESS"
  | "NOT_REFUNDABLE"
  | "IDEMPOTENCY_IN_PROGRESS"
  | "IDEMPOTENCY_KEY_REUSED"
  | "RESERVATION_EXPIRED"
  | "NOT_CANCELLABLE"
  | "ORDER_CANCELLED"
  // Delivery's state machine refused a move; details name the current status.
  | "INVALID_TRANSITION";

/** `details`: more fields beside code and message where a client needs them, e.g. OUT_OF_STOCK's `products`. */
export type ErrorBody = { error: { code: string; message: string } & Record<string, unknown> };

/** An error meant for the client: its status, code and message are sent as they are. */
export class AppError extends Error {
  /** Extra response headers, e.g. Retry-After on a 503. */
  readonly headers: Record<string, string> | undefined;
  /** Extra fields of the envelope's `error`, e.g. `{ products: [...] }`; never `code` or `message`. */
  readonly details: Record<string, unknown> | undefined;
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string>; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.headers = options?.headers;
    this.details = options?.details;
    this.name = "AppError";
  }
}

export const errorBody = (code: string, message: string, details?: Record<string, unknown>): ErrorBody => ({ error: { ...details, code, message } });

export const errorResponse = (c: Context, status: ContentfulStatusCode, code: string, message: string, details?: Record<string, unknown>) =>
  c.json(errorBody(code, message, details), status);

const codeForStatus = (status: number): ErrorCode =>
  status === 404
    ? "NOT_FOUND"
    : status === 401
      ? "UNAUTHENTICATED"
      : status === 403
        ? "FORBIDDEN"
        : status === 413
          ? "PAYLOAD_TOO_LARGE"
          : status < 500
            ? "BAD_REQUEST"
            : "INTERNAL";

/** Turns any thrown error into the envelope; never leaks a stack trace to the client, logs it instead. */
export const errorHandler =
  (logger: Logger): ErrorHandler =>
  (err, c) => {
    if (err instanceof AppError) {
      if (err.headers) for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      return errorResponse(c, err.status, err.code, err.message, err.details);
    }
    if (err instanceof HTTPException) {
      // Hono raises these itself, e.g. 400 "Malformed JSON in request body".
      const status = err.status as ContentfulStatusCode;
      return errorResponse(c, status, codeForStatus(status), err.message || "request failed");
    }
    logger.error("unhandled error", {
      request_id: c.get("requestId" as never) ?? null,
      method: c.req.method,
      path: c.req.path,
      error: String(err),
      stack: (err as Error)?.stack,
    });
    return errorResponse(c, 500, "INTERNAL", "internal server error");
  };

export const notFound: NotFoundHandler = (c) => errorResponse(c, 404, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`);
