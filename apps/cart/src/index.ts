// Starts the cart service: settings from the environment, then database, migrations and HTTP server.
import { intFromEnv } from "@storefront/shared/config";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { createApp } from "./app.ts";

const env = process.env;
await startDatabaseService({
  service: "cart",
  port: intFromEnv(env, "PORT", 8003),
  databaseUrl: env.CART_DATABASE_URL,
  dataDir: env.CART_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  createApp: (sql) => createApp({ sql }),
});
