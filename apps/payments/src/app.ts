// The payments service: charges and refunds through the (simulated) card provider, once per Idempotency-Key.
// Called by the orders service with its service token; customers never call it. No I/O here; index.ts builds
// the dependencies.
import type { MiddlewareHandler } from "hono";
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import { chaos as chaosMiddleware, type ChaosOptions } from "@storefront/shared/chaos";
import { AppError } from "@storefront/shared/errors";
import { createObservability, type Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { DEFAULT_LEASE_MS, DEFAULT_PROVIDER_TIMEOUT_MS, type ChargeOutcomeLabel } from "./charges.ts";
import type { PaymentProvider } from "./provider.ts";
import { paymentsRoutes } from "./routes/payments.ts";
import { refundRoutes } from "./routes/refunds.ts";

/**
 * `provider`: the card provider (createSimulatedProvider in index.ts; tests inject its timing or a fake).
 * `leaseMs`: how long a request owns a `processing` charge before a request with the same key may take it over.
 * `providerTimeoutMs`: how long a charge waits for the provider; a timeout charged nothing (see provider.ts).
 */
export type PaymentsDeps = {
  sql: Sql;
  verifier: TokenVerifier;
  provider: PaymentProvider;
  leaseMs?: number;
  providerTimeoutMs?: number;
  chaos?: ChaosOptions;
  observability?: Observability;
};

const OUTCOMES: ChargeOutcomeLabel[] = ["succeeded", "declined", "provider_error"];

export function createApp({ sql, verifier, provider, leaseMs = DEFAULT_LEASE_MS, providerTimeoutMs = DEFAULT_PROVIDER_TIMEOUT_MS, chaos, observability }: PaymentsDeps) {
  const obs = observability ?? createObservability("payments");
  const charges = obs.registry.counter("payments_charges_total", "Charges the card provider answered, by outcome (provider_error: charged nothing).", ["outcome"]);
  for (const outcome of OUTCOMES) charges.inc([outcome], 0);

  const app = createServiceApp({ service: "payments", ready: databaseReady(sql), observability: obs, verifier });
  if (chaos) {
    // Only the data routes: /health, /ready and /metrics must stay honest while the demo makes payments slow or flaky.
    app.use("/payments/*", chargeSafeChaos(chaos));
  }
  app.route("/payments", paymentsRoutes({ sql, provider, leaseMs, providerTimeoutMs, countOutcome: (outcome) => charges.inc([outcome]) }));
  app.route("/payments", refundRoutes(sql, provider));
  return app;
}

/**
 * The shared demo knobs. Their injected failure answers before the handler runs, so it charged nothing; on a
 * charge it answers like the provider's own transient failure (502 UPSTREAM_ERROR), so the caller has one
 * "nothing charged, retry with the same key" answer to handle. Elsewhere it stays 500 INJECTED_FAILURE.
 */
function chargeSafeChaos(options: ChaosOptions): MiddlewareHandler {
  const knobs = chaosMiddleware({ failRateName: "PAYMENT_FAIL_RATE", ...options });
  return async (c, next) => {
    let passed = false;
    const injected = await knobs(c, async () => {
      passed = true;
      await next();
    });
    if (passed || c.req.method !== "POST" || c.req.path !== "/payments") return injected;
    throw new AppError(502, "UPSTREAM_ERROR", `injected failure (${options.failRateName ?? "PAYMENT_FAIL_RATE"}): nothing was charged; retry with the same Idempotency-Key`);
  };
}
