// A minimal browser for the web app's tests: keeps cookies between requests (honouring Max-Age=0), sends the
// Origin header a browser sends with a form, and posts forms with the CSRF token the pages embed. Requests go
// to the app directly (app.request), as to http://localhost.
import { CSRF_FIELD } from "../csrf.ts";
import { cookieNames } from "../session.ts";
import { PASSWORD } from "./stub-bff.ts";

type App = { request: (path: string, init?: RequestInit) => Response | Promise<Response> };

export type Page = { status: number; headers: Headers; html: string; location: string | null; setCookies: string[] };

export const ORIGIN = "http://localhost";

export function createBrowser(app: App, options: { secure?: boolean } = {}) {
  const names = cookieNames(options.secure ?? false);
  const jar = new Map<string, string>();

  async function request(path: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await app.request(path, { ...init, headers });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      if (/;\s*Max-Age=0(;|$)/i.test(line)) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1));
    }
    return { status: res.status, headers: res.headers, html: await res.text(), location: res.headers.get("location"), setCookies };
  }

  const browser = {
    jar,
    names,
    get: (path: string) => request(path),
    /**
     * A form as a browser sends it: urlencoded, with Origin, and with the CSRF token from the cookie (what the
     * page's hidden field holds). `csrf: null` leaves the field out, `origin: null` the header.
     */
    post(path: string, fields: Record<string, string> = {}, opts: { csrf?: string | null; origin?: string | null } = {}) {
      const form = new URLSearchParams(fields);
      const token = opts.csrf === undefined ? jar.get(names.csrf) : opts.csrf;
      if (token !== null && token !== undefined) form.set(CSRF_FIELD, token);
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
      const origin = opts.origin === undefined ? ORIGIN : opts.origin;
      if (origin !== null) headers.origin = origin;
      return request(path, { method: "POST", headers, body: form.toString() });
    },
    /** Loads the login page (for its CSRF cookie) and logs in; returns the login's answer (a 303). */
    async login(email = "user1@storefront.test", password = PASSWORD) {
      await browser.get("/login");
      return browser.post("/login", { email, password, next: "/" });
    },
  };
  return browser;
}

export type Browser = ReturnType<typeof createBrowser>;

/** The page's visible text roughly: tags dropped, whitespace squeezed (for "the page says ..." assertions). */
export const textOf = (html: string) =>
  html
    .replace(/<style[\s\S]*?<\/style>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");
