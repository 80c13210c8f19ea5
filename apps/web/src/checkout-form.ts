// The checkout form's fields, their rules (those of the BFF's POST /checkout, checked here first so a mistake
// is shown beside its field), and the payment provider's test cards in plain words.
import { z } from "zod";

export const TEST_CARDS = [
  { token: "tok_visa", label: "Test card that is approved" },
  { token: "tok_decline", label: "Test card that is declined" },
  { token: "tok_slow", label: "Slow test card: takes about 3 seconds, confirmed a moment later" },
  { token: "tok_flaky", label: "Unreliable test card: fails half the time, retried, charged once" },
] as const;

/** As the BFF takes Idempotency-Key: 1-255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const text = (label: string, max: number) =>
  z
    .string({ error: `Enter ${label}` })
    .trim()
    .min(1, `Enter ${label}`)
    .max(max, `${label[0]!.toUpperCase()}${label.slice(1)} must be at most ${max} characters`);

export const checkoutForm = z.object({
  name: text("the recipient's name", 100),
  line1: text("the street address", 200),
  city: text("the city", 100),
  postal_code: text("the postcode", 20),
  country: z
    .string({ error: "Enter a two-letter country code, such as GB" })
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, "Enter a two-letter country code, such as GB"),
  delivery_date: z
    .string()
    .trim()
    .regex(/^(\d{4}-\d{2}-\d{2})?$/, "Enter the date as YYYY-MM-DD, or leave it empty")
    .optional(),
  card_token: z.enum(TEST_CARDS.map((c) => c.token) as [string, ...string[]], { error: "Choose a test card" }),
});

export type CheckoutValues = Partial<Record<"name" | "line1" | "city" | "postal_code" | "country" | "delivery_date" | "card_token", string>>;
export type CheckoutErrors = Partial<Record<keyof CheckoutValues, string>>;

/** The BFF's body for valid form values. */
export function checkoutBody(values: z.output<typeof checkoutForm>) {
  const { name, line1, city, postal_code, country, delivery_date, card_token } = values;
  return {
    shipping_address: { name, line1, city, postal_code, country },
    ...(delivery_date ? { delivery_date } : {}),
    card_token,
  };
}

/** zod's issues as one message per field (the first). */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? "form");
    out[field] ??= issue.message;
  }
  return out;
}
