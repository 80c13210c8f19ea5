// Starts the users service: settings and signing keys from the environment, then database, migrations and
// HTTP server. A missing or unusable key ends the start-up with one line naming the setting.
import { intFromEnv } from "@storefront/shared/config";
import { loadPublicKeys, loadSigningKey } from "@storefront/shared/auth/keys";
import { localKeys } from "@storefront/shared/auth/remote-keys";
import { createTokenSigner } from "@storefront/shared/auth/token-signer";
import { createTokenVerifier } from "@storefront/shared/auth/token-verifier";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { parseServiceClients } from "./service-clients.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("users", env, host);
  const settings = start.settings(() => {
    if (!env.AUTH_PRIVATE_KEY?.trim()) throw new Error("AUTH_PRIVATE_KEY is required: the Ed25519 private key tokens are signed with, in PKCS#8 PEM");
    return {
      port: intFromEnv(env, "PORT", 8005),
      privateKeyPem: env.AUTH_PRIVATE_KEY,
      retiredPublicKeysPem: env.AUTH_RETIRED_PUBLIC_KEYS,
      ttls: {
        accessS: intFromEnv(env, "ACCESS_TOKEN_TTL_S", 900, { min: 1 }),
        refreshS: intFromEnv(env, "REFRESH_TOKEN_TTL_S", 2_592_000, { min: 1 }),
        serviceS: intFromEnv(env, "SERVICE_TOKEN_TTL_S", 300, { min: 1 }),
        reuseS: intFromEnv(env, "REFRESH_TOKEN_REUSE_S", 10),
      },
      // argon2's own lower bounds; the defaults are OWASP's argon2id recommendation (19 MiB, 2 passes).
      password: { memoryCost: intFromEnv(env, "PASSWORD_MEMORY_KIB", 19_456, { min: 8 }), timeCost: intFromEnv(env, "PASSWORD_TIME_COST", 2, { min: 1 }) },
      serviceClients: parseServiceClients(env.SERVICE_CLIENT_SECRETS),
    };
  });

  // The messages name the setting; a stack trace would add nothing for whoever has to fix it.
  const unusable = (err: unknown) => start.fail("a signing key setting is not usable", (err as Error).message);
  const signingKey = await loadSigningKey(settings.privateKeyPem).catch(unusable);
  const retiredKeys = await loadPublicKeys(settings.retiredPublicKeysPem).catch(unusable);
  const publishedKeys = [signingKey.publicJwk, ...retiredKeys.filter((k) => k.kid !== signingKey.kid)];
  const verifier = createTokenVerifier({ keys: await localKeys(publishedKeys) });

  await startDatabaseService({
    startup: start,
    service: "users",
    port: settings.port,
    databaseUrl: env.USERS_DATABASE_URL,
    dataDir: env.USERS_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    createApp: (sql, _started, observability) =>
      createApp({
        sql,
        signer: createTokenSigner(signingKey),
        publishedKeys,
        verifier,
        password: settings.password,
        ttls: settings.ttls,
        serviceClients: settings.serviceClients,
        observability,
      }),
  });
}

if (import.meta.main) await main();
