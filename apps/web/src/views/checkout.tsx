/** @jsxImportSource hono/jsx */
// The checkout page: what is in the cart, the delivery address and date, a test card, and "Place order". The
// form carries an Idempotency-Key made when it was drawn, so pressing "Place order" twice makes one order.
import { productName, type Catalogue } from "../catalogue.ts";
import type { Chrome } from "../chrome.ts";
import { TEST_CARDS, type CheckoutErrors, type CheckoutValues } from "../checkout-form.ts";
import { formatMoney } from "../format.ts";
import type { CartLine } from "../shapes.ts";
import { cartTotal, CatalogueBanner } from "./cart.tsx";
import { Layout } from "./layout.tsx";
import { Banner, CsrfField, FieldError, invalidProps } from "./parts.tsx";

export type CheckoutView = {
  chrome: Chrome;
  /** null when the cart could not be read (the form is still shown, e.g. to retry a checkout whose answer was lost). */
  lines: CartLine[] | null;
  catalogue: Catalogue;
  idempotencyKey: string;
  values: CheckoutValues;
  errors?: CheckoutErrors;
  /** What went wrong with the last attempt, in words; `problems` lists products (out of stock). */
  error?: string;
  problems?: string[];
  /** The delivery date's bounds, YYYY-MM-DD. */
  minDate: string;
  maxDate: string;
};

function TextField(props: { name: keyof CheckoutValues; label: string; autocomplete: string; values: CheckoutValues; errors: CheckoutErrors; maxlength: number; hint?: string }) {
  const { name, errors } = props;
  return (
    <div>
      <label for={name}>
        {props.label}
        {props.hint ? <span class="hint"> ({props.hint})</span> : null}
      </label>
      <input id={name} name={name} type="text" autocomplete={props.autocomplete} required maxlength={props.maxlength} value={props.values[name] ?? ""} {...invalidProps(name, errors[name])} />
      <FieldError name={name} message={errors[name]} />
    </div>
  );
}

export function CheckoutPage(props: CheckoutView) {
  const { chrome, lines, catalogue, values } = props;
  const errors = props.errors ?? {};
  const total = lines ? cartTotal(lines, catalogue) : null;
  const empty = lines !== null && lines.length === 0;
  return (
    <Layout title="Checkout" chrome={chrome}>
      <h1>Checkout</h1>
      {props.error ? (
        <Banner kind="error">
          <p>{props.error}</p>
          {props.problems?.length ? (
            <ul>
              {props.problems.map((p) => (
                <li>{p}</li>
              ))}
            </ul>
          ) : null}
        </Banner>
      ) : Object.keys(errors).length ? (
        <Banner kind="error">Please correct the fields marked below.</Banner>
      ) : null}
      <CatalogueBanner catalogue={catalogue} />
      {empty ? (
        <p>
          Your cart is empty. <a href="/">Browse the products</a>.
        </p>
      ) : (
        <>
          {lines ? (
            <section aria-labelledby="summary">
              <h2 id="summary">Your order</h2>
              <ul>
                {lines.map((line) => {
                  const price = catalogue.products.get(line.product_id)?.price_cents;
                  return (
                    <li>
                      {line.quantity} × {productName(catalogue, line.product_id)}
                      {price === null || price === undefined ? null : ` (${formatMoney(price * line.quantity)})`}
                    </li>
                  );
                })}
              </ul>
              {total === null ? null : <p class="price">Total: {formatMoney(total)}</p>}
            </section>
          ) : null}
          <form method="post" action="/checkout" class="stack">
            <CsrfField token={chrome.csrfToken} />
            <input type="hidden" name="idempotency_key" value={props.idempotencyKey} />
            <fieldset>
              <legend>Delivery address</legend>
              <TextField name="name" label="Full name" autocomplete="name" maxlength={100} values={values} errors={errors} />
              <TextField name="line1" label="Street address" autocomplete="address-line1" maxlength={200} values={values} errors={errors} />
              <TextField name="city" label="City" autocomplete="address-level2" maxlength={100} values={values} errors={errors} />
              <TextField name="postal_code" label="Postcode" autocomplete="postal-code" maxlength={20} values={values} errors={errors} />
              <TextField name="country" label="Country code" hint="two letters, such as GB" autocomplete="country" maxlength={2} values={values} errors={errors} />
            </fieldset>
            <div>
              <label for="delivery_date">
                Delivery date <span class="hint">(optional; leave empty for as soon as possible)</span>
              </label>
              <input id="delivery_date" name="delivery_date" type="date" min={props.minDate} max={props.maxDate} value={values.delivery_date ?? ""} {...invalidProps("delivery_date", errors.delivery_date)} />
              <FieldError name="delivery_date" message={errors.delivery_date} />
            </div>
            <div>
              <label for="card_token">Payment</label>
              <select id="card_token" name="card_token" required {...invalidProps("card_token", errors.card_token)}>
                {TEST_CARDS.map((card) => (
                  <option value={card.token} selected={(values.card_token ?? "tok_visa") === card.token}>
                    {card.label}
                  </option>
                ))}
              </select>
              <FieldError name="card_token" message={errors.card_token} />
            </div>
            <div>
              <button type="submit">Place order</button>
            </div>
          </form>
        </>
      )}
    </Layout>
  );
}
