/** @jsxImportSource hono/jsx */
// Log in and register: plain forms; a failed attempt comes back with the visitor's email (never the password)
// and the reason in words.
import type { Chrome } from "../chrome.ts";
import { Layout } from "./layout.tsx";
import { Banner, CsrfField, FieldError, invalidProps } from "./parts.tsx";

export type FieldErrors = Partial<Record<string, string>>;

export function LoginPage(props: { chrome: Chrome; next: string; email?: string; error?: string }) {
  const { chrome } = props;
  return (
    <Layout title="Log in" chrome={chrome}>
      <h1>Log in</h1>
      {chrome.session ? <Banner>You are already logged in. Logging in again switches to another account.</Banner> : null}
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}
      <form method="post" action="/login" class="stack">
        <CsrfField token={chrome.csrfToken} />
        <input type="hidden" name="next" value={props.next} />
        <div>
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="email" required value={props.email ?? ""} />
        </div>
        <div>
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
        </div>
        <div>
          <button type="submit">Log in</button>
        </div>
      </form>
      <p>
        New here? <a href="/register">Create an account</a>. Demo accounts: user1@storefront.test to user5@storefront.test, password
        storefront-demo.
      </p>
    </Layout>
  );
}

export function RegisterPage(props: { chrome: Chrome; email?: string; name?: string; errors?: FieldErrors; error?: string }) {
  const { chrome } = props;
  const errors = props.errors ?? {};
  const summary = props.error ?? (Object.keys(errors).length ? "Please correct the fields marked below." : undefined);
  return (
    <Layout title="Create an account" chrome={chrome}>
      <h1>Create an account</h1>
      {summary ? <Banner kind="error">{summary}</Banner> : null}
      <form method="post" action="/register" class="stack">
        <CsrfField token={chrome.csrfToken} />
        <div>
          <label for="name">Name</label>
          <input id="name" name="name" type="text" autocomplete="name" required maxlength={100} value={props.name ?? ""} {...invalidProps("name", errors.name)} />
          <FieldError name="name" message={errors.name} />
        </div>
        <div>
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="email" required maxlength={254} value={props.email ?? ""} {...invalidProps("email", errors.email)} />
          <FieldError name="email" message={errors.email} />
        </div>
        <div>
          <label for="password">
            Password <span class="hint">(at least 10 characters)</span>
          </label>
          <input id="password" name="password" type="password" autocomplete="new-password" required minlength={10} maxlength={256} {...invalidProps("password", errors.password)} />
          <FieldError name="password" message={errors.password} />
        </div>
        <div>
          <button type="submit">Create account</button>
        </div>
      </form>
      <p>
        Already have an account? <a href="/login">Log in</a>.
      </p>
    </Layout>
  );
}
