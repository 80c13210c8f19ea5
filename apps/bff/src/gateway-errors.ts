// Maps what went wrong with an upstream call to the status a gateway answers with. Messages name the
// upstream and the kind of failure, never internal addresses.
import { AppError } from "@storefront/shared/errors";
import { CircuitOpenError } from "@storefront/shared/circuit-breaker";
import { DeadlineExceededError } from "@storefront/shared/deadline";
import { rootCause, UpstreamInvalidResponseError, UpstreamStatusError } from "@storefront/shared/upstream/errors";

export function gatewayError(upstream: string, err: unknown): AppError {
  const cause = rootCause(err);
  if (cause instanceof DeadlineExceededError) {
    return new AppError(504, "UPSTREAM_TIMEOUT", `${upstream} did not answer within ${cause.ms} ms`, { cause: err });
  }
  if (cause instanceof CircuitOpenError) {
    const seconds = Math.max(1, Math.ceil(cause.retryAfterMs / 1000));
    return new AppError(503, "UPSTREAM_UNAVAILABLE", `${upstream} is failing; not calling it for ${seconds} s`, {
      cause: err,
      headers: { "retry-after": String(seconds) },
    });
  }
  const reason =
    cause instanceof UpstreamStatusError || cause instanceof UpstreamInvalidResponseError ? cause.message : `${upstream} could not be reached`;
  return new AppError(502, "UPSTREAM_ERROR", reason, { cause: err });
}
