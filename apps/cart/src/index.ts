// Starts the cart service: config from the environment, database, migrations, HTTP server.
import { fileURLToPath } from "node:url";
import { intFromEnv } from "@storefront/shared/config";
import { connectDatabase } from "@storefront/shared/db/connect";
import { migrate } from "@storefront/shared/db/migrate";
import { serveApp } from "@storefront/shared/serve";
import { createApp } from "./app.ts";

const env = process.env;
const port = intFromEnv(env, "PORT", 8003);
const db = await connectDatabase({
  url: env.CART_DATABASE_URL,
  dataDir: env.CART_DATA_DIR || fileURLToPath(new URL("../../../.data/cart", import.meta.url)),
});
await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
serveApp({ app: createApp({ sql: db.sql }), service: "cart", port, onClose: [db.close] });
