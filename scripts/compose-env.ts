// `bun scripts/compose-env.ts > .env`: the secrets compose.yaml asks for, made fresh: the users service's
// Ed25519 signing key (PEM with "\n" escapes, which the apps accept) and the notifications worker's client
// secret. .env is git-ignored; keep it out of images and repositories.
import { freshAuthSecrets } from "./auth.ts";

const { privatePem, serviceSecret } = await freshAuthSecrets();
console.log(`AUTH_PRIVATE_KEY="${privatePem.trim().replace(/\n/g, "\\n")}"`);
console.log(`NOTIFICATIONS_CLIENT_SECRET=${serviceSecret}`);
