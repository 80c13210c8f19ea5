// Log in, register and log out. A login stores the BFF's token pair in the session cookies (session.ts) and
// replaces the CSRF token; registering logs the new account in straight away; logging out ends every session
// of the user at the BFF (best effort: the cookies go whatever it answers).
import { Hono, type Context } from "hono";
import { z } from "zod";
import { BffUnavailableError, errorOf } from "../bff.ts";
import { bffSend } from "../calls.ts";
import { plainChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { rotateCsrfToken } from "../csrf.ts";
import { formOf, safeNext, withNotice } from "../forms.ts";
import { bodyAs, TokenPair } from "../shapes.ts";
import { LoginPage, RegisterPage, type FieldErrors } from "../views/auth.tsx";

const registerForm = z.object({
  name: z.string().trim().min(1, "Enter your name").max(100, "Your name must be at most 100 characters"),
  email: z.string().trim().toLowerCase().max(254, "That email is too long").pipe(z.email("Enter an email address, such as ada@example.com")),
  password: z.string().min(10, "Choose a password of at least 10 characters").max(256, "Your password must be at most 256 characters"),
});

const tooMany = (retryAfter: string | null) =>
  `Too many attempts. Please wait ${retryAfter && /^\d+$/.test(retryAfter) ? `${retryAfter} seconds` : "a minute"} and try again.`;

/** Logs in at the BFF: the session on success, else the reason to show and the status to show it with. */
async function logIn(c: Context<WebEnv>, email: string, password: string): Promise<{ ok: true } | { ok: false; status: 400 | 401 | 429; message: string }> {
  const reply = await bffSend(c, "POST", "/auth/login", { json: { email, password }, anonymous: true });
  if (reply.status === 200) {
    c.get("services").sessions.establish(c, bodyAs(reply, TokenPair, "login"));
    rotateCsrfToken(c, c.get("services").sessions);
    return { ok: true };
  }
  if (reply.status === 401) return { ok: false, status: 401, message: "That email and password do not match an account." };
  if (reply.status === 429) return { ok: false, status: 429, message: tooMany(reply.headers.get("retry-after")) };
  if (reply.status === 400) return { ok: false, status: 400, message: "Enter your email address and your password." };
  throw new BffUnavailableError("client_error", reply.status, reply.body);
}

export const authRoutes = () =>
  new Hono<WebEnv>()
    .get("/login", (c) => c.html(LoginPage({ chrome: plainChrome(c), next: safeNext(c.req.query("next")) })))
    .post("/login", async (c) => {
      const form = await formOf(c);
      const next = safeNext(form.next);
      const email = (form.email ?? "").trim();
      const password = form.password ?? "";
      if (!email || !password) return c.html(LoginPage({ chrome: plainChrome(c), next, email, error: "Enter your email address and your password." }), 400);
      const outcome = await logIn(c, email, password);
      if (!outcome.ok) return c.html(LoginPage({ chrome: plainChrome(c), next, email, error: outcome.message }), outcome.status);
      return c.redirect(withNotice(next, "logged-in"), 303);
    })
    .get("/register", (c) => c.html(RegisterPage({ chrome: plainChrome(c) })))
    .post("/register", async (c) => {
      const form = await formOf(c);
      const shown = { email: form.email, name: form.name };
      const parsed = registerForm.safeParse(form);
      if (!parsed.success) {
        const errors: FieldErrors = {};
        for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
        return c.html(RegisterPage({ chrome: plainChrome(c), ...shown, errors }), 400);
      }
      const { name, email, password } = parsed.data;
      const reply = await bffSend(c, "POST", "/auth/register", { json: { name, email, password }, anonymous: true });
      if (reply.status === 409) return c.html(RegisterPage({ chrome: plainChrome(c), ...shown, errors: { email: "An account with this email exists already. Log in instead." } }), 409);
      if (reply.status === 429) return c.html(RegisterPage({ chrome: plainChrome(c), ...shown, error: tooMany(reply.headers.get("retry-after")) }), 429);
      if (reply.status === 400) {
        const message = errorOf(reply.body)?.message;
        return c.html(RegisterPage({ chrome: plainChrome(c), ...shown, error: `The account could not be created${message ? `: ${message}` : "."}` }), 400);
      }
      if (reply.status !== 201) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const login = await logIn(c, email, password);
      // The account exists; if logging in is refused now (rate limited), the login page says so.
      if (!login.ok) return c.redirect(withNotice("/login", "login-needed"), 303);
      return c.redirect(withNotice("/", "welcome"), 303);
    })
    .post("/logout", async (c) => {
      const { sessions, logger } = c.get("services");
      if (c.get("session")) {
        try {
          await bffSend(c, "POST", "/auth/logout");
        } catch (err) {
          // The cookies go anyway; the refresh token left at the users service runs out on its own.
          logger.warn("logout at the BFF failed", { request_id: c.get("requestId"), error: String(err) });
        }
      }
      sessions.clear(c);
      rotateCsrfToken(c, sessions);
      return c.redirect(withNotice("/", "logged-out"), 303);
    });
