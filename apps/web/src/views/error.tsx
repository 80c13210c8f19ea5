/** @jsxImportSource hono/jsx */
// Error pages: what happened in words and what to do next; never a stack trace.
import type { Chrome } from "../chrome.ts";
import { Layout } from "./layout.tsx";

export function ErrorPage(props: { chrome: Chrome; title: string; message: string; requestId?: string }) {
  return (
    <Layout title={props.title} chrome={props.chrome}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      <p>
        <a href="/">Back to the products</a>
      </p>
      {props.requestId ? <p class="hint">Reference: {props.requestId}</p> : null}
    </Layout>
  );
}
