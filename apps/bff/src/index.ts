// Starts the BFF: upstream addresses and deadlines from the environment, then serves.
import { intFromEnv, urlFromEnv } from "@storefront/shared/config";
import { serveApp } from "@storefront/shared/serve";
import { createApp, DEFAULT_DEADLINES } from "./app.ts";

const env = process.env;
const app = createApp({
  urls: {
    products: urlFromEnv(env, "PRODUCTS_URL", "http://127.0.0.1:8000"),
    inventory: urlFromEnv(env, "INVENTORY_URL", "http://127.0.0.1:8001"),
    favorites: urlFromEnv(env, "FAVORITES_URL", "http://127.0.0.1:8002"),
    cart: urlFromEnv(env, "CART_URL", "http://127.0.0.1:8003"),
  },
  deadlines: {
    productsMs: intFromEnv(env, "PRODUCTS_DEADLINE_MS", DEFAULT_DEADLINES.productsMs, { min: 1 }),
    inventoryMs: intFromEnv(env, "INVENTORY_DEADLINE_MS", DEFAULT_DEADLINES.inventoryMs, { min: 1 }),
    writeMs: intFromEnv(env, "WRITE_DEADLINE_MS", DEFAULT_DEADLINES.writeMs, { min: 1 }),
  },
});
serveApp({ app, service: "bff", port: intFromEnv(env, "PORT", 9000) });
