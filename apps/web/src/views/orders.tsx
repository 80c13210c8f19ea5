/** @jsxImportSource hono/jsx */
// The orders list (/orders) and one order (/orders/:id): status in words, items, address, the saga's history
// step by step, and where the delivery stands.
import { productName, type Catalogue } from "../catalogue.ts";
import type { Chrome } from "../chrome.ts";
import { formatDate, formatMoney, formatTime } from "../format.ts";
import type { Order, OrderSummary } from "../shapes.ts";
import { CatalogueBanner } from "./cart.tsx";
import { Layout } from "./layout.tsx";
import { Banner, PostButton } from "./parts.tsx";

const ORDER_STATUS: Record<string, string> = {
  pending: "Being processed",
  confirmed: "Confirmed",
  cancelling: "Being cancelled",
  cancelled: "Cancelled",
  shipped: "Shipped",
  delivered: "Delivered",
};
const DELIVERY_STATUS: Record<string, string> = {
  created: "Waiting for the payment",
  activated: "Ready for delivery",
  done: "Delivered",
  canceled: "Cancelled",
};
const STEP: Record<string, string> = {
  placed: "Order placed",
  reserve: "Reserve the stock",
  charge: "Take the payment",
  commit: "Set the stock aside",
  clear_cart: "Empty the cart",
  confirm: "Confirm the order",
  refund: "Refund the payment",
  release: "Return the stock",
  cancel: "Cancel the order",
};
const OUTCOME: Record<string, string> = { succeeded: "done", failed: "failed", retrying: "will be tried again", skipped: "not needed", started: "started" };

const label = (table: Record<string, string>, key: string) => table[key] ?? key;
/** Orders that can still be cancelled (the BFF refuses once shipped). */
const CANCELLABLE = new Set(["pending", "confirmed"]);

export function OrdersPage(props: { chrome: Chrome; orders: OrderSummary[]; nextAfter: number | null; paged: boolean }) {
  const { chrome, orders } = props;
  return (
    <Layout title="Your orders" chrome={chrome}>
      <h1>Your orders</h1>
      {orders.length === 0 ? (
        <p>
          You have no orders yet. <a href="/">Browse the products</a>.
        </p>
      ) : (
        <table>
          <caption class="vh">Your orders, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Items
              </th>
              <th scope="col" class="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr>
                <td>
                  <a href={`/orders/${o.order_id}`}>Order #{o.order_id}</a>
                </td>
                <td>
                  <time datetime={o.created_at}>{formatTime(o.created_at)}</time>
                </td>
                <td>{label(ORDER_STATUS, o.status)}</td>
                <td class="num">{o.item_count}</td>
                <td class="num">{formatMoney(o.total_cents)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.paged || props.nextAfter ? (
        <nav class="pager" aria-label="Pages">
          {props.paged ? <a href="/orders">Newest orders</a> : null}
          {props.nextAfter ? <a href={`/orders?after=${props.nextAfter}`}>Older orders</a> : null}
        </nav>
      ) : null}
    </Layout>
  );
}

export function OrderPage(props: { chrome: Chrome; order: Order; catalogue: Catalogue }) {
  const { chrome, order, catalogue } = props;
  const address = order.shipping_address;
  return (
    <Layout title={`Order #${order.order_id}`} chrome={chrome}>
      <p>
        <a href="/orders">← All orders</a>
      </p>
      <h1>Order #{order.order_id}</h1>
      {order.status === "pending" ? (
        <Banner>
          Your order is being processed: the payment and the stock are still being settled. <a href={`/orders/${order.order_id}`}>Refresh this page</a> to
          see its progress.
        </Banner>
      ) : null}
      {order.status === "cancelled" && order.cancel_reason ? <Banner kind="warn">This order was cancelled: {order.cancel_reason}.</Banner> : null}
      <CatalogueBanner catalogue={catalogue} />
      <dl>
        <dt>Status</dt>
        <dd>{label(ORDER_STATUS, order.status)}</dd>
        <dt>Placed</dt>
        <dd>
          <time datetime={order.created_at}>{formatTime(order.created_at)}</time>
        </dd>
        <dt>Delivery date</dt>
        <dd>{order.delivery_date ? formatDate(order.delivery_date) : "As soon as possible"}</dd>
        <dt>Delivery</dt>
        <dd>
          {order.delivery ? (
            <>
              {label(DELIVERY_STATUS, order.delivery.status)}
              {order.delivery.courier_name ? `, with ${order.delivery.courier_name}` : ", no courier assigned yet"} (updated{" "}
              <time datetime={order.delivery.updated_at}>{formatTime(order.delivery.updated_at)}</time>)
            </>
          ) : (
            "Not arranged yet"
          )}
        </dd>
        <dt>Address</dt>
        <dd>
          {address.name}, {address.line1}, {address.city} {address.postal_code}, {address.country}
        </dd>
      </dl>
      <h2>Items</h2>
      <table>
        <caption class="vh">The items of order {order.order_id}</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col" class="num">
              Quantity
            </th>
            <th scope="col" class="num">
              Price
            </th>
            <th scope="col" class="num">
              Subtotal
            </th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((item) => (
            <tr>
              <td>
                <a href={`/products/${item.product_id}`}>{productName(catalogue, item.product_id)}</a>
              </td>
              <td class="num">{item.quantity}</td>
              <td class="num">{formatMoney(item.price_cents)}</td>
              <td class="num">{formatMoney(item.price_cents * item.quantity)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="price">Total: {formatMoney(order.total_cents)}</p>
      {CANCELLABLE.has(order.status) ? (
        <PostButton action={`/orders/${order.order_id}/cancel`} csrfToken={chrome.csrfToken} class="secondary">
          Cancel this order
        </PostButton>
      ) : null}
      <h2>History</h2>
      {order.history.length === 0 ? (
        <p>Nothing has happened yet.</p>
      ) : (
        <ol class="history">
          {order.history.map((step) => (
            <li>
              <time datetime={step.at}>{formatTime(step.at)}</time>: {label(STEP, step.step)}, {label(OUTCOME, step.outcome)}
              {step.detail ? ` (${step.detail})` : null}
            </li>
          ))}
        </ol>
      )}
    </Layout>
  );
}
