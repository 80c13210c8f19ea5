// A real browser for the storefront's tests: Debian's Chromium driven by playwright-core (the library, not the
// @playwright/test runner), a screenshot of every page a test visits, axe-core run inside each of those pages,
// and the bytes a page transferred.
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { expect } from "bun:test";
import { chromium, type Browser, type BrowserContext, type Page, type Response } from "playwright-core";
import { repoRoot } from "./processes.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";
// Without --disable-background-networking Chromium keeps trying to reach the internet, which is closed here.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

/** Where every visited page's screenshot goes (git-ignored), made on first use. */
export const SCREENSHOT_DIR = join(repoRoot, "test-artifacts", "screenshots");

/**
 * Whether the browser tests can run: true with Chromium installed. Without it they are skipped with a printed
 * reason, except under CI=true, where a missing browser is a failure (.ci/run installs it).
 */
export function requireChromium(suite: string): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const reason = `no Chromium at ${CHROMIUM_PATH}`;
  if (process.env.CI === "true") throw new Error(`CI=true: ${suite} needs a browser, but ${reason} (apt-get install chromium)`);
  console.warn(`skipping ${suite}: ${reason} (apt-get install chromium)`);
  return false;
}

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });

/**
 * A fresh context (its own cookies) for one test. bypassCSP: the app's Content-Security-Policy allows no script
 * at all, which would also block the axe-core source the tests inject; the pages themselves carry none.
 */
export async function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, bypassCSP: true, viewport: { width: 1280, height: 900 } });
  // Generous: the machine is shared and slow; each step still waits only as long as it must.
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

const axeSource = await Bun.file(createRequire(import.meta.url).resolve("axe-core/axe.min.js")).text();

type AxeViolation = { id: string; impact: string | null; help: string; helpUrl: string; nodes: { target: unknown[]; failureSummary?: string }[] };

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // A page loaded earlier in the same tab may already have it; injecting twice is harmless but slower.
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === "object");
  if (!loaded) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const results = await axe.run({ resultTypes: ["violations"] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

const fileSafe = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 80);

/**
 * What every visited page gets: a full-page screenshot named `<test>--<n>-<page>.png` and an axe-core check
 * (no serious or critical violations; the failure message lists them).
 */
export function pageChecker(testName: string) {
  let n = 0;
  return async function checkPage(page: Page, pageName: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    n += 1;
    const file = join(SCREENSHOT_DIR, `${fileSafe(testName)}--${String(n).padStart(2, "0")}-${fileSafe(pageName)}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const violations = await seriousViolations(page);
    if (violations.length) console.error(`axe-core on ${pageName} (${page.url()}):\n${JSON.stringify(violations, null, 2)}`);
    expect(violations, `serious or critical accessibility violations on ${pageName} (${page.url()})`).toEqual([]);
  };
}

/** Bytes on the wire of one response: headers plus the body as sent (encoded). */
export async function transferredBytes(response: Response): Promise<number> {
  const sizes = await response.request().sizes();
  return sizes.responseHeadersSize + sizes.responseBodySize;
}
