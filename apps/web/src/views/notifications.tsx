/** @jsxImportSource hono/jsx */
// The inbox (/notifications): newest first, unread ones marked, each with a "Mark as read" button.
import type { Chrome } from "../chrome.ts";
import { formatTime } from "../format.ts";
import type { InboxItem } from "../shapes.ts";
import { Layout } from "./layout.tsx";
import { PostButton } from "./parts.tsx";

export function NotificationsPage(props: { chrome: Chrome; items: InboxItem[]; before: number | null; paged: boolean }) {
  const { chrome, items } = props;
  return (
    <Layout title="Notifications" chrome={chrome}>
      <h1>Notifications</h1>
      {items.length === 0 ? (
        <p>No notifications.</p>
      ) : (
        <ul class="grid">
          {items.map((n) => (
            <li class="card">
              <h2 class={n.read_at === null ? "unread" : undefined}>
                {n.read_at === null ? <span class="vh">Unread: </span> : null}
                {n.title}
              </h2>
              <p>{n.body}</p>
              <p class="hint">
                <time datetime={n.created_at}>{formatTime(n.created_at)}</time>
              </p>
              {n.read_at === null ? (
                <div class="actions">
                  <PostButton action={`/notifications/${n.id}/read`} csrfToken={chrome.csrfToken} class="secondary">
                    Mark as read<span class="vh">: {n.title}</span>
                  </PostButton>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {props.paged || props.before ? (
        <nav class="pager" aria-label="Pages">
          {props.paged ? <a href="/notifications">Newest</a> : null}
          {props.before ? <a href={`/notifications?before=${props.before}`}>Older</a> : null}
        </nav>
      ) : null}
    </Layout>
  );
}
