/** @jsxImportSource hono/jsx */
// The admin's page (/admin): stock and price per product, each row with its own forms; the deliveries of one
// status, a page at a time, with a courier to assign to each paid one. A part the BFF cannot give is said in
// words and the rest still renders.
import type { Courier, Delivery, Stock } from "../admin-shapes.ts";
import type { Chrome } from "../chrome.ts";
import type { ListedProduct } from "../shapes.ts";
import { Address, deliveryStatusText, WantedBy } from "./deliveries.tsx";
import { Layout } from "./layout.tsx";
import { Banner, CsrfField } from "./parts.tsx";

export type AdminView = {
  chrome: Chrome;
  /** This page's address with its query, where every form comes back to. */
  here: string;
  products: { items: ListedProduct[]; nextAfter: number | null; stock: Map<number, Stock | null> } | null;
  /** The link to the next page of products (the query kept), null on the last page. */
  nextProducts: string | null;
  status: string | null;
  deliveries: { items: Delivery[]; nextAfter: number | null } | null;
  nextDeliveries: string | null;
  couriers: Courier[] | null;
  /** The links to each status's list. */
  statusLinks: { status: string | null; href: string }[];
};

/** 2490 as "24.90": what the price field holds. */
const pounds = (cents: number) => (cents / 100).toFixed(2);

function ProductRow(props: { product: ListedProduct; stock: Stock | null | undefined; csrfToken: string; here: string }) {
  const { product, stock, csrfToken, here } = props;
  const id = product.product_id;
  return (
    <tr>
      <td>
        <a href={`/products/${id}`}>{product.product_name}</a>
      </td>
      <td class="num">{product.inventory === null ? "Unknown" : product.inventory}</td>
      <td class="num">{stock ? stock.on_hand : "–"}</td>
      <td class="num">{stock ? stock.reserved : "–"}</td>
      <td>
        <form method="post" action={`/admin/products/${id}/stock`} class="row-form">
          <CsrfField token={csrfToken} />
          <input type="hidden" name="next" value={here} />
          <span>
            <label for={`stock-${id}`}>
              <span class="vh">On hand of {product.product_name}</span>
            </label>
            <input id={`stock-${id}`} name="on_hand" type="number" min={0} max={2147483647} required value={stock ? String(stock.on_hand) : ""} />
          </span>
          <button type="submit" class="secondary">
            Set stock<span class="vh"> of {product.product_name}</span>
          </button>
        </form>
      </td>
      <td>
        <form method="post" action={`/admin/products/${id}/price`} class="row-form">
          <CsrfField token={csrfToken} />
          <input type="hidden" name="next" value={here} />
          <span>
            <label for={`price-${id}`}>
              <span class="vh">Price of {product.product_name} in pounds</span>
            </label>
            <input
              id={`price-${id}`}
              name="price"
              type="text"
              inputmode="decimal"
              pattern="[0-9]{1,8}([.][0-9]{1,2})?"
              required
              value={product.price_cents === null || product.price_cents === undefined ? "" : pounds(product.price_cents)}
            />
          </span>
          <button type="submit" class="secondary">
            Set price<span class="vh"> of {product.product_name}</span>
          </button>
        </form>
      </td>
    </tr>
  );
}

function AssignForm(props: { delivery: Delivery; couriers: Courier[] | null; csrfToken: string; here: string }) {
  const { delivery, couriers, csrfToken, here } = props;
  if (delivery.courier) return <>{delivery.courier.name}</>;
  if (delivery.status !== "activated") return <>None</>;
  if (!couriers) return <>Couriers are unavailable right now.</>;
  if (couriers.length === 0) return <>No couriers yet.</>;
  const fieldId = `courier-${delivery.order_id}`;
  return (
    <form method="post" action={`/admin/deliveries/${delivery.order_id}/courier`} class="row-form">
      <CsrfField token={csrfToken} />
      <input type="hidden" name="next" value={here} />
      <span>
        <label for={fieldId}>
          <span class="vh">Courier for order {delivery.order_id}</span>
        </label>
        <select id={fieldId} name="courier_id" required>
          {couriers.map((courier) => (
            <option value={String(courier.courier_id)}>{courier.name}</option>
          ))}
        </select>
      </span>
      <button type="submit">
        Assign<span class="vh"> a courier to order {delivery.order_id}</span>
      </button>
    </form>
  );
}

export function AdminPage(props: AdminView) {
  const { chrome, products, deliveries, here } = props;
  return (
    <Layout title="Admin" chrome={chrome}>
      <h1>Admin</h1>
      <section aria-labelledby="stock-heading">
        <h2 id="stock-heading">Stock and prices</h2>
        {products === null ? (
          <Banner kind="warn">The products are unavailable right now.</Banner>
        ) : (
          <>
            {products.items.some((p) => p.inventory === null) ? <Banner kind="warn">Stock is unavailable right now.</Banner> : null}
            {products.items.length > 0 && products.items.every((p) => !products.stock.get(p.product_id)) ? (
              <p class="hint">On hand and reserved counts are not available from the BFF right now; the available stock is.</p>
            ) : null}
            <table>
              <caption class="vh">Stock and price per product</caption>
              <thead>
                <tr>
                  <th scope="col">Product</th>
                  <th scope="col" class="num">
                    Available
                  </th>
                  <th scope="col" class="num">
                    On hand
                  </th>
                  <th scope="col" class="num">
                    Reserved
                  </th>
                  <th scope="col">Set on hand</th>
                  <th scope="col">Set price (£)</th>
                </tr>
              </thead>
              <tbody>
                {products.items.map((product) => (
                  <ProductRow product={product} stock={products.stock.get(product.product_id)} csrfToken={chrome.csrfToken} here={here} />
                ))}
              </tbody>
            </table>
            {props.nextProducts ? (
              <p class="pager">
                <a href={props.nextProducts}>More products</a>
              </p>
            ) : null}
          </>
        )}
      </section>
      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Deliveries</h2>
        <nav aria-label="Deliveries by status">
          <ul class="filters">
            {props.statusLinks.map((link) => (
              <li>
                <a href={link.href} aria-current={link.status === props.status ? "page" : undefined}>
                  {link.status === null ? "All" : deliveryStatusText(link.status)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {deliveries === null ? (
          <Banner kind="warn">Deliveries are unavailable right now.</Banner>
        ) : deliveries.items.length === 0 ? (
          <p>No deliveries {props.status ? `in “${deliveryStatusText(props.status)}”` : "yet"}.</p>
        ) : (
          <>
            <table>
              <caption class="vh">Deliveries{props.status ? `: ${deliveryStatusText(props.status)}` : ""}</caption>
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col">Status</th>
                  <th scope="col">Address</th>
                  <th scope="col">Wanted by</th>
                  <th scope="col">Courier</th>
                </tr>
              </thead>
              <tbody>
                {deliveries.items.map((delivery) => (
                  <tr>
                    <td>#{delivery.order_id}</td>
                    <td>{deliveryStatusText(delivery.status)}</td>
                    <td>
                      <Address delivery={delivery} />
                    </td>
                    <td>
                      <WantedBy delivery={delivery} />
                    </td>
                    <td>
                      <AssignForm delivery={delivery} couriers={props.couriers} csrfToken={chrome.csrfToken} here={here} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {props.nextDeliveries ? (
              <p class="pager">
                <a href={props.nextDeliveries}>More deliveries</a>
              </p>
            ) : null}
          </>
        )}
      </section>
    </Layout>
  );
}
