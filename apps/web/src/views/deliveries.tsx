/** @jsxImportSource hono/jsx */
// What the admin's and the courier's pages share about a delivery: its status in words and its address.
import type { Delivery } from "../admin-shapes.ts";
import { formatDate } from "../format.ts";

const STATUS_WORDS: Record<string, string> = {
  created: "Not paid yet",
  activated: "Paid, to be delivered",
  done: "Delivered",
  canceled: "Cancelled",
};

/** "Paid, to be delivered", or the status as it came for one this page does not know. */
export const deliveryStatusText = (status: string) => STATUS_WORDS[status] ?? status;

export const Address = (props: { delivery: Delivery }) => {
  const a = props.delivery.shipping_address;
  return (
    <>
      {a.name}, {a.line1}, {a.city} {a.postal_code}, {a.country}
    </>
  );
};

export const WantedBy = (props: { delivery: Delivery }) => <>{props.delivery.delivery_date ? formatDate(props.delivery.delivery_date) : "As soon as possible"}</>;
