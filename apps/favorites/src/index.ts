// Starts the favorites service: settings from the environment, then database, migrations and HTTP server.
import { intFromEnv } from "@storefront/shared/config";
import { logLevelFromEnv } from "@storefront/shared/observability/logger";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { createApp } from "./app.ts";

const env = process.env;
await startDatabaseService({
  service: "favorites",
  port: intFromEnv(env, "PORT", 8002),
  databaseUrl: env.FAVORITES_DATABASE_URL,
  dataDir: env.FAVORITES_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  logLevel: logLevelFromEnv(env),
  createApp: (sql, _, observability) => createApp({ sql, observability }),
});
