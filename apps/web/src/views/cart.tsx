/** @jsxImportSource hono/jsx */
// The cart (/cart) and the favorites (/favorites): lines named from the catalogue, with forms to change them.
import { productName, type Catalogue } from "../catalogue.ts";
import type { Chrome } from "../chrome.ts";
import { formatMoney, stockLabel } from "../format.ts";
import type { CartLine } from "../shapes.ts";
import { Layout } from "./layout.tsx";
import { Banner, CsrfField, PostButton, Price } from "./parts.tsx";

/** The total when every line's price is known; null otherwise. */
export function cartTotal(lines: readonly CartLine[], catalogue: Catalogue): number | null {
  let total = 0;
  for (const line of lines) {
    const price = catalogue.products.get(line.product_id)?.price_cents;
    if (price === null || price === undefined) return null;
    total += price * line.quantity;
  }
  return total;
}

export const CatalogueBanner = (props: { catalogue: Catalogue }) =>
  props.catalogue.complete ? null : <Banner kind="warn">Some product names and prices are unavailable right now.</Banner>;

export function CartPage(props: { chrome: Chrome; lines: CartLine[]; catalogue: Catalogue }) {
  const { chrome, lines, catalogue } = props;
  const total = cartTotal(lines, catalogue);
  return (
    <Layout title="Your cart" chrome={chrome}>
      <h1>Your cart</h1>
      <CatalogueBanner catalogue={catalogue} />
      {lines.length === 0 ? (
        <p>
          Your cart is empty. <a href="/">Browse the products</a>.
        </p>
      ) : (
        <>
          <table>
            <caption class="vh">The products in your cart</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col">Quantity</th>
                <th scope="col" class="num">
                  Subtotal
                </th>
                <th scope="col">
                  <span class="vh">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {lines.map((line) => {
                const product = catalogue.products.get(line.product_id);
                const name = productName(catalogue, line.product_id);
                const price = product?.price_cents;
                const inputId = `quantity-${line.product_id}`;
                return (
                  <tr>
                    <td>
                      <a href={`/products/${line.product_id}`}>{name}</a>
                      {product && product.inventory !== null && product.inventory < line.quantity ? (
                        <p class="field-error">Only {stockLabel(product.inventory).toLowerCase()}.</p>
                      ) : null}
                    </td>
                    <td class="num">
                      <Price cents={price} />
                    </td>
                    <td>
                      <form method="post" action={`/cart/${line.product_id}`} class="inline">
                        <CsrfField token={chrome.csrfToken} />
                        <span>
                          <label for={inputId}>
                            <span class="vh">Quantity of {name}</span>
                          </label>
                          <input id={inputId} name="quantity" type="number" min={1} max={999} required value={line.quantity} />
                        </span>
                        <button type="submit" class="secondary">
                          Update<span class="vh"> quantity of {name}</span>
                        </button>
                      </form>
                    </td>
                    <td class="num">{price === null || price === undefined ? "" : formatMoney(price * line.quantity)}</td>
                    <td>
                      <PostButton action={`/cart/${line.product_id}/remove`} csrfToken={chrome.csrfToken} class="secondary">
                        Remove<span class="vh"> {name}</span>
                      </PostButton>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p class="price">{total === null ? "Total: shown at checkout" : `Total: ${formatMoney(total)}`}</p>
          <p>
            <a class="button" href="/checkout">
              Go to checkout
            </a>
          </p>
        </>
      )}
    </Layout>
  );
}

export function FavoritesPage(props: { chrome: Chrome; ids: number[]; catalogue: Catalogue }) {
  const { chrome, ids, catalogue } = props;
  return (
    <Layout title="Your favorites" chrome={chrome}>
      <h1>Your favorites</h1>
      <CatalogueBanner catalogue={catalogue} />
      {ids.length === 0 ? (
        <p>
          You have no favorites yet. Mark products with “Add to favorites” on <a href="/">the products page</a>.
        </p>
      ) : (
        <ul class="grid">
          {ids.map((id) => {
            const product = catalogue.products.get(id);
            const name = productName(catalogue, id);
            return (
              <li class="card">
                <h2>
                  <a href={`/products/${id}`}>{name}</a>
                </h2>
                <Price cents={product?.price_cents} />
                {product ? <span class="stock">{stockLabel(product.inventory)}</span> : null}
                <div class="actions">
                  <PostButton action="/cart/items" csrfToken={chrome.csrfToken} next="/favorites" fields={{ product_id: String(id) }} disabled={product?.inventory === 0}>
                    {product?.inventory === 0 ? "Sold out" : "Add to cart"}
                    <span class="vh">: {name}</span>
                  </PostButton>
                  <PostButton action={`/favorites/${id}/remove`} csrfToken={chrome.csrfToken} next="/favorites" class="secondary">
                    Remove from favorites<span class="vh">: {name}</span>
                  </PostButton>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Layout>
  );
}
