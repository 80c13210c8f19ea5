// Starts the inventory service: config from the environment, database, migrations, HTTP server.
import { fileURLToPath } from "node:url";
import { intFromEnv } from "@storefront/shared/config";
import { connectDatabase } from "@storefront/shared/db/connect";
import { migrate } from "@storefront/shared/db/migrate";
import { serveApp } from "@storefront/shared/serve";
import { createApp } from "./app.ts";
import { chaosFromEnv, type ChaosOptions } from "./chaos.ts";

const env = process.env;
let port: number;
let chaos: ChaosOptions;
try {
  port = intFromEnv(env, "PORT", 8001);
  chaos = chaosFromEnv(env);
} catch (err) {
  console.error(`inventory: ${(err as Error).message}`);
  process.exit(1);
}
if (chaos.delayMs || chaos.failRate) {
  console.log(JSON.stringify({ level: "info", service: "inventory", msg: "demo knobs on", delayMs: chaos.delayMs ?? null, failRate: chaos.failRate }));
}

const db = await connectDatabase({
  url: env.INVENTORY_DATABASE_URL,
  dataDir: env.INVENTORY_DATA_DIR || fileURLToPath(new URL("../../../.data/inventory", import.meta.url)),
});
await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
serveApp({ app: createApp({ sql: db.sql, chaos }), service: "inventory", port, onClose: [db.close] });
