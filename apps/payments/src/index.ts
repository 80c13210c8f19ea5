// Starts the payments service: config from the environment, database, migrations, HTTP server.
// Access tokens are checked against the users service's published keys (USERS_URL). Payments emits no
// events, so there is no outbox and no relay.
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { chaosFromEnv } from "@storefront/shared/chaos";
import { intFromEnv, upstreamFromEnv } from "@storefront/shared/config";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { DEFAULT_LEASE_MS } from "./charges.ts";
import { createSimulatedProvider } from "./provider.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("payments", env, host);
  const settings = start.settings(() => ({
    port: intFromEnv(env, "PORT", 8007),
    usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
    leaseMs: intFromEnv(env, "PAYMENT_PROCESSING_LEASE_MS", DEFAULT_LEASE_MS, { min: 1 }),
    chaos: chaosFromEnv(env, "PAYMENT"),
  }));
  const { chaos, leaseMs } = settings;
  if (chaos.delayMs || chaos.failRate) start.observability.logger.info("demo knobs on", { delayMs: chaos.delayMs ?? null, failRate: chaos.failRate });

  await startDatabaseService({
    startup: start,
    service: "payments",
    port: settings.port,
    databaseUrl: env.PAYMENTS_DATABASE_URL,
    dataDir: env.PAYMENTS_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    createApp: (sql, _started, observability) =>
      createApp({
        sql,
        chaos,
        leaseMs,
        observability,
        provider: createSimulatedProvider({ sql }),
        verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }),
      }),
  });
}

if (import.meta.main) await main();
