// What the worker's clients of other services are built from. No retries of their own: a failed call fails
// the job, and BullMQ's backoff is the retry.
import type { ServiceCredentials } from "@storefront/shared/auth/service-credentials";
import type { BreakerOptions } from "@storefront/shared/circuit-breaker";
import type { FetchFn } from "@storefront/shared/upstream/client";

export type WorkerClientOptions = {
  baseUrl: string;
  /** Deadline of each call; sent upstream as x-deadline-ms. */
  deadlineMs: number;
  /** The worker's own identity: it calls for the system, not for a user, so each call carries a service token. */
  credentials: ServiceCredentials;
  breaker?: Omit<BreakerOptions, "name" | "isFailure">;
  fetch?: FetchFn;
};
