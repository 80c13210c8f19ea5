// Starts the products service: settings from the environment, then database, migrations and HTTP server.
import { intFromEnv } from "@storefront/shared/config";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { createApp } from "./app.ts";

const env = process.env;
await startDatabaseService({
  service: "products",
  port: intFromEnv(env, "PORT", 8000),
  databaseUrl: env.PRODUCTS_DATABASE_URL,
  dataDir: env.PRODUCTS_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  createApp: (sql) => createApp({ sql }),
});
