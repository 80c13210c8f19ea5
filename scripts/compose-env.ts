// `bun scripts/compose-env.ts > .env`: the secrets compose.yaml asks for, made fresh: the Postgres password
// (hex, so it needs no escaping inside the services' database URLs), the users service's Ed25519 signing key
// (PEM with "\n" escapes, which the apps accept) and the client secret of each app that calls with a service
// token of its own (NOTIFICATIONS_CLIENT_SECRET, ORDERS_CLIENT_SECRET). .env is git-ignored; keep it out of
// images and repositories. The postgres image sets the password only when it creates its data volume: with an
// existing volume, keep the password it was made with (or start over with `docker compose down -v`).
import { freshAuthSecrets, SERVICE_CLIENTS } from "./auth.ts";

const { privatePem, clientSecrets } = await freshAuthSecrets();
console.log(`POSTGRES_PASSWORD=${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("hex")}`);
console.log(`AUTH_PRIVATE_KEY="${privatePem.trim().replace(/\n/g, "\\n")}"`);
for (const client of SERVICE_CLIENTS) console.log(`${client.toUpperCase()}_CLIENT_SECRET=${clientSecrets[client]}`);
