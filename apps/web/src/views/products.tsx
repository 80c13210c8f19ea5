/** @jsxImportSource hono/jsx */
// The product grid (/) and one product's page (/products/:id): name, price when known, available stock, and
// for a logged-in user "Add to cart" and the favorite toggle as plain POST forms.
import type { Chrome } from "../chrome.ts";
import { stockLabel } from "../format.ts";
import type { ListedProduct } from "../shapes.ts";
import { Layout } from "./layout.tsx";
import { Banner, Price, PostButton } from "./parts.tsx";

/** What a logged-in visitor can do to a product; null for a visitor. favorites: null when unknown right now. */
export type Shopper = { csrfToken: string; favorites: ReadonlySet<number> | null } | null;

/** The listing's `degraded` parts as the shopper reads them. */
export function DegradedBanners(props: { degraded: readonly string[]; loggedIn: boolean }) {
  const has = (part: string) => props.degraded.includes(part);
  return (
    <>
      {has("inventory") ? <Banner kind="warn">Stock is unavailable right now. You can still add products to your cart.</Banner> : null}
      {has("products") ? <Banner kind="warn">Product details may be a little out of date right now.</Banner> : null}
      {props.loggedIn && has("cart") ? <Banner kind="warn">Your cart count is unavailable right now.</Banner> : null}
      {props.loggedIn && has("favorites") ? <Banner kind="warn">Your favorites are unavailable right now.</Banner> : null}
    </>
  );
}

function ProductActions(props: { product: ListedProduct; shopper: Shopper; next: string }) {
  const { product, shopper, next } = props;
  if (!shopper) {
    return (
      <p>
        <a href={`/login?next=${encodeURIComponent(next)}`}>Log in to buy</a>
      </p>
    );
  }
  const id = String(product.product_id);
  const soldOut = product.inventory === 0;
  const favorite = shopper.favorites?.has(product.product_id);
  return (
    <div class="actions">
      <PostButton action="/cart/items" csrfToken={shopper.csrfToken} next={next} fields={{ product_id: id }} disabled={soldOut}>
        {soldOut ? "Sold out" : "Add to cart"}
        <span class="vh">: {product.product_name}</span>
      </PostButton>
      {shopper.favorites === null ? null : favorite ? (
        <PostButton action={`/favorites/${id}/remove`} csrfToken={shopper.csrfToken} next={next} class="secondary">
          <span aria-hidden="true">★ </span>Remove from favorites<span class="vh">: {product.product_name}</span>
        </PostButton>
      ) : (
        <PostButton action="/favorites" csrfToken={shopper.csrfToken} next={next} fields={{ product_id: id }} class="secondary">
          <span aria-hidden="true">☆ </span>Add to favorites<span class="vh">: {product.product_name}</span>
        </PostButton>
      )}
    </div>
  );
}

const Stock = (props: { inventory: number | null }) => <span class={props.inventory === 0 ? "stock out" : "stock"}>{stockLabel(props.inventory)}</span>;

/** `here`: this page's path and query, where the forms send the browser back to. */
export function HomePage(props: { chrome: Chrome; here: string; products: ListedProduct[]; degraded: string[]; shopper: Shopper; nextAfter: number | null; paged: boolean }) {
  const { chrome, products, shopper } = props;
  return (
    <Layout title="Products" chrome={chrome}>
      <h1>Products</h1>
      <DegradedBanners degraded={props.degraded} loggedIn={chrome.session !== null} />
      {products.length === 0 ? (
        <p>No products here.</p>
      ) : (
        <ul class="grid">
          {products.map((p) => (
            <li class="card" id={`product-${p.product_id}`}>
              <h2>
                <a href={`/products/${p.product_id}`}>{p.product_name}</a>
              </h2>
              <Price cents={p.price_cents} />
              <Stock inventory={p.inventory} />
              <ProductActions product={p} shopper={shopper} next={`${props.here}#product-${p.product_id}`} />
            </li>
          ))}
        </ul>
      )}
      {props.paged || props.nextAfter ? (
        <nav class="pager" aria-label="Pages">
          {props.paged ? <a href="/">First page</a> : null}
          {props.nextAfter ? <a href={`/?after=${props.nextAfter}`}>Next page</a> : null}
        </nav>
      ) : null}
    </Layout>
  );
}

export function ProductPage(props: { chrome: Chrome; here: string; product: ListedProduct; degraded: string[]; shopper: Shopper }) {
  const { chrome, product } = props;
  return (
    <Layout title={product.product_name} chrome={chrome}>
      <p>
        <a href="/">← All products</a>
      </p>
      <h1>{product.product_name}</h1>
      <DegradedBanners degraded={props.degraded} loggedIn={chrome.session !== null} />
      <p>
        <Price cents={product.price_cents} />
      </p>
      <p>
        <Stock inventory={product.inventory} />
      </p>
      <ProductActions product={product} shopper={props.shopper} next={props.here} />
    </Layout>
  );
}
