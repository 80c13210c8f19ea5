// `bun scripts/compose-env.ts > .env`: the secrets compose.yaml asks for, made fresh: the users service's
// Ed25519 signing key (PEM with "\n" escapes, which the apps accept) and the client secret of each app that
// calls with a service token of its own (NOTIFICATIONS_CLIENT_SECRET, ORDERS_CLIENT_SECRET). .env is
// git-ignored; keep it out of images and repositories.
import { freshAuthSecrets, SERVICE_CLIENTS } from "./auth.ts";

const { privatePem, clientSecrets } = await freshAuthSecrets();
console.log(`AUTH_PRIVATE_KEY="${privatePem.trim().replace(/\n/g, "\\n")}"`);
for (const client of SERVICE_CLIENTS) console.log(`${client.toUpperCase()}_CLIENT_SECRET=${clientSecrets[client]}`);
