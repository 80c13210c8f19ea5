// The web app under test: built on a fresh stub BFF (stub-bff.ts) with short deadlines, and a browser for it.
import { createApp } from "../app.ts";
import type { BffDeadlines } from "../bff.ts";
import { createBrowser } from "./browser.ts";
import { createStubBff } from "./stub-bff.ts";

/** Short enough that a hanging BFF fails a test fast, long enough for a loaded CI machine's stub calls. */
export const TEST_DEADLINES: BffDeadlines = { readMs: 400, writeMs: 400, checkoutMs: 600 };

export async function webApp(options: { secure?: boolean; now?: () => number; deadlines?: Partial<BffDeadlines>; development?: boolean } = {}) {
  const stub = await createStubBff();
  const app = createApp({
    bffUrl: "http://bff.test",
    fetch: stub.fetch,
    secureCookies: options.secure ?? false,
    now: options.now,
    development: options.development ?? false,
    deadlines: { ...TEST_DEADLINES, ...options.deadlines },
  });
  return { stub, app, browser: createBrowser(app, { secure: options.secure }) };
}
