// Starts the favorites service: settings from the environment, then database, migrations and HTTP server.
import { intFromEnv } from "@storefront/shared/config";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";

const env = process.env;
const start = startup("favorites", env);
const port = start.settings(() => intFromEnv(env, "PORT", 8002));
await startDatabaseService({
  startup: start,
  service: "favorites",
  port,
  databaseUrl: env.FAVORITES_DATABASE_URL,
  dataDir: env.FAVORITES_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  createApp: (sql, _, observability) => createApp({ sql, observability }),
});
