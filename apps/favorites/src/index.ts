// Starts the favorites service: settings from the environment, then database, migrations and HTTP server.
// Access tokens are checked against the users service's published keys (USERS_URL).
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, upstreamFromEnv } from "@storefront/shared/config";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("favorites", env, host);
  const settings = start.settings(() => ({ port: intFromEnv(env, "PORT", 8002), usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL) }));
  await startDatabaseService({
    startup: start,
    service: "favorites",
    port: settings.port,
    databaseUrl: env.FAVORITES_DATABASE_URL,
    dataDir: env.FAVORITES_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    createApp: (sql, _, observability) =>
      createApp({ sql, observability, verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }) }),
  });
}

if (import.meta.main) await main();
