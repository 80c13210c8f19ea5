/** @jsxImportSource hono/jsx */
// Small pieces the pages share: the CSRF field every POST form carries, banners, field errors, prices.
import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "../csrf.ts";
import { formatMoney } from "../format.ts";

export const CsrfField = (props: { token: string }) => <input type="hidden" name={CSRF_FIELD} value={props.token} />;

/** A message about the page: "status" is polite news, "alert" a problem the visitor should read now. */
export const Banner = (props: { kind?: "info" | "warn" | "error"; children: Child }) => {
  const kind = props.kind ?? "info";
  return (
    <div class={kind === "info" ? "banner" : `banner ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
};

/** A field's error, tied to its input by aria-describedby (`${name}-error`). */
export const FieldError = (props: { name: string; message?: string }) =>
  props.message ? (
    <p class="field-error" id={`${props.name}-error`}>
      {props.message}
    </p>
  ) : null;

/** The attributes that mark an input invalid and point at its error. */
export const invalidProps = (name: string, message?: string) => (message ? { "aria-invalid": "true", "aria-describedby": `${name}-error` } : {});

export const Price = (props: { cents: number | null | undefined }) =>
  props.cents === null || props.cents === undefined ? null : <span class="price">{formatMoney(props.cents)}</span>;

/** A one-button form posting to `action` (with the CSRF token and where to come back to). */
export const PostButton = (props: { action: string; csrfToken: string; next?: string; class?: string; disabled?: boolean; fields?: Record<string, string>; children: Child }) => (
  <form method="post" action={props.action}>
    <CsrfField token={props.csrfToken} />
    {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
    {Object.entries(props.fields ?? {}).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" class={props.class} disabled={props.disabled}>
      {props.children}
    </button>
  </form>
);
