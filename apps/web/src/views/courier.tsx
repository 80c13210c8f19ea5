/** @jsxImportSource hono/jsx */
// The courier's page (/courier): their deliveries, oldest first, each open one with "Mark delivered".
import type { Delivery } from "../admin-shapes.ts";
import type { Chrome } from "../chrome.ts";
import { Address, deliveryStatusText, WantedBy } from "./deliveries.tsx";
import { Layout } from "./layout.tsx";
import { PostButton } from "./parts.tsx";

export function CourierPage(props: { chrome: Chrome; here: string; deliveries: Delivery[]; next: string | null }) {
  const { chrome, deliveries } = props;
  return (
    <Layout title="My deliveries" chrome={chrome}>
      <h1>My deliveries</h1>
      {deliveries.length === 0 ? (
        <p>No deliveries are assigned to you yet.</p>
      ) : (
        <table>
          <caption class="vh">The deliveries assigned to you</caption>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Address</th>
              <th scope="col">Wanted by</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="vh">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr>
                <td>#{delivery.order_id}</td>
                <td>
                  <Address delivery={delivery} />
                </td>
                <td>
                  <WantedBy delivery={delivery} />
                </td>
                <td>{deliveryStatusText(delivery.status)}</td>
                <td>
                  {delivery.status === "activated" ? (
                    <PostButton action={`/courier/deliveries/${delivery.order_id}/done`} csrfToken={chrome.csrfToken} next={props.here}>
                      Mark delivered<span class="vh">: order {delivery.order_id}</span>
                    </PostButton>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.next ? (
        <p class="pager">
          <a href={props.next}>More deliveries</a>
        </p>
      ) : null}
    </Layout>
  );
}
