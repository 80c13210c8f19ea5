// Starts the inventory service: config from the environment, database, migrations, the outbox relay and the
// reservation sweeper, HTTP server. Access tokens are checked against the users service's published keys (USERS_URL).
// Demo knobs: INVENTORY_DELAY_MS and INVENTORY_FAIL_RATE set them at start; INVENTORY_CHAOS_SWITCHES=1 (development
// only, off by default) also lets admins change them at run time with GET/PUT /admin/chaos, which is a 404 otherwise.
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, upstreamFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from "@storefront/shared/notifications/events";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { createReservationSweeper, DEFAULT_SWEEP_MS } from "./reservation-sweeper.ts";
import { DEFAULT_RESERVATION_TTL_MS } from "./routes/reservations.ts";
import { chaosFromEnv } from "@storefront/shared/chaos";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  /** "1" turns the switches on; unset, empty or "0" leaves them off; anything else is a mistake worth stopping for. */
  function switchesFromEnv(raw: string | undefined): boolean {
    if (raw === undefined || raw === "" || raw === "0") return false;
    if (raw === "1") return true;
    throw new Error(`INVENTORY_CHAOS_SWITCHES must be "1" (on) or "0" (off), got "${raw}"`);
  }

  const start = startup("inventory", env, host);
  const settings = start.settings(() => ({
    port: intFromEnv(env, "PORT", 8001),
    redisUrl: urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL),
    usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
    chaos: chaosFromEnv(env),
    chaosSwitches: switchesFromEnv(env.INVENTORY_CHAOS_SWITCHES),
    reservationTtlMs: intFromEnv(env, "RESERVATION_TTL_MS", DEFAULT_RESERVATION_TTL_MS, { min: 1 }),
    reservationSweepMs: intFromEnv(env, "RESERVATION_SWEEP_MS", DEFAULT_SWEEP_MS, { min: 1 }),
  }));
  const { chaos, chaosSwitches } = settings;
  if (chaos.delayMs || chaos.failRate) start.observability.logger.info("demo knobs on", { delayMs: chaos.delayMs ?? null, failRate: chaos.failRate });
  if (chaosSwitches) start.observability.logger.warn("demo knob switches on: admins can slow or fail inventory at PUT /admin/chaos (INVENTORY_CHAOS_SWITCHES=1; development only)");

  await startDatabaseService({
    startup: start,
    service: "inventory",
    port: settings.port,
    databaseUrl: env.INVENTORY_DATABASE_URL,
    dataDir: env.INVENTORY_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    start: (sql, { logger, registry }) => {
      // Redis may be down at start-up: the service serves anyway and its outbox relay waits for it.
      const relay = startOutboxRelay({ sql, logger, registry, redisUrl: settings.redisUrl, prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX });
      const sweeper = createReservationSweeper({ sql, logger, everyMs: settings.reservationSweepMs, outbox: relay });
      sweeper.start();
      return {
        wake: relay.wake,
        async close() {
          // The sweeper first: its pass in flight finishes while the database is still open, and its wake reaches a
          // relay not yet stopped (the events it wrote would wait in the outbox either way).
          await sweeper.stop();
          await relay.close();
        },
      };
    },
    createApp: (sql, outbox, observability) =>
      createApp({
        sql,
        chaos,
        outbox,
        observability,
        reservationTtlMs: settings.reservationTtlMs,
        chaosSwitches,
        verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }),
      }),
  });
}

if (import.meta.main) await main();
