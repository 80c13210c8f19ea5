// Starts the storefront web app: PORT (3000), BFF_URL (http://127.0.0.1:9000), WEB_SECURE_COOKIES (default:
// Secure cookies only when NODE_ENV=production; settings.ts), LOG_LEVEL; NODE_ENV other than production with
// cookies not Secure is a development run (/status open to every visitor; settings.ts). Ready as soon as it listens: it needs
// the BFF per request, not to start. SIGTERM drains in-flight requests and exits 0.
import { serveApp } from "@storefront/shared/serve";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { webSettings } from "./settings.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("web", env, host);
  const { observability } = start;
  const { port, bffUrl, secureCookies, development } = start.settings(() => webSettings(env));
  serveApp({ app: createApp({ bffUrl, secureCookies, development, observability }), service: "web", port, startup: start });
}

if (import.meta.main) await main();
