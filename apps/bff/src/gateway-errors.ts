// Maps what went wrong with an upstream call to the status a gateway answers with. Messages name the
// upstream and the kind of failure, never internal addresses.
import { AppError } from "@storefront/shared/errors";
import { DeadlineExceededError } from "@storefront/shared/deadline";
import { UpstreamInvalidResponseError, UpstreamStatusError } from "./upstream.ts";

export function gatewayError(upstream: string, err: unknown): AppError {
  if (err instanceof DeadlineExceededError) {
    return new AppError(504, "UPSTREAM_TIMEOUT", `${upstream} did not answer within ${err.ms} ms`, { cause: err });
  }
  const reason =
    err instanceof UpstreamStatusError || err instanceof UpstreamInvalidResponseError ? err.message : `${upstream} could not be reached`;
  return new AppError(502, "UPSTREAM_ERROR", reason, { cause: err });
}
