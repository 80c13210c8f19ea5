// Reading HTML forms: the fields as strings, a safe place to go back to, and a notice to show there.
import type { Context } from "hono";

/** The form's text fields (a file field is dropped); {} for a body that is not a form. */
export async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === "string") fields[name] = value;
  return fields;
}

/**
 * Where a form may send the browser back to: a path on this site only. Anything else ("//evil.test",
 * "https://evil.test", "/\\evil.test", a control character) is "/", so `next` can never be an open redirect.
 */
export function safeNext(value: string | undefined, fallback = "/"): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\") || /[\u0000-\u001f\\]/.test(value)) return fallback;
  return value.length > 512 ? fallback : value;
}

/** `path` with `?notice=<code>` set (replacing one already there). */
export function withNotice(path: string, notice: string): string {
  const url = new URL(path, "http://web.invalid");
  url.searchParams.set("notice", notice);
  return `${url.pathname}${url.search}${url.hash}`;
}

/** A positive integer written plainly ("1", not "01" or "1e3"); undefined otherwise. */
export function positiveId(value: string | undefined): number | undefined {
  if (!value || !/^[1-9][0-9]{0,9}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= 2_147_483_647 ? n : undefined;
}
