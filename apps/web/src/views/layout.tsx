/** @jsxImportSource hono/jsx */
// Every page's frame: head with the inline stylesheet, a skip link, the header with the navigation (what the
// visitor may open: customers' pages, and admin or courier pages by the role in their token), main, footer.
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { Chrome } from "../chrome.ts";
import { CSS } from "./styles.ts";
import { Banner, CsrfField } from "./parts.tsx";

type Link = { href: string; label: Child; current: boolean };

const isCurrent = (path: string, href: string) => (href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`));

function links(chrome: Chrome): Link[] {
  const { session, path } = chrome;
  const link = (href: string, label: Child): Link => ({ href, label, current: isCurrent(path, href) });
  const out = [link("/", "Products")];
  if (!session) return [...out, link("/login", "Log in"), link("/register", "Register")];
  const cart =
    typeof chrome.cartCount === "number" ? (
      <>
        Cart <span class="count">{chrome.cartCount}</span>
        <span class="vh"> {chrome.cartCount === 1 ? "line" : "lines"}</span>
      </>
    ) : (
      "Cart"
    );
  const unread =
    typeof chrome.unread === "number" && chrome.unread > 0 ? (
      <>
        Notifications <span class="count">{chrome.unreadMore ? "99+" : chrome.unread}</span>
        <span class="vh"> unread</span>
      </>
    ) : (
      "Notifications"
    );
  out.push(link("/favorites", "Favorites"), link("/cart", cart), link("/orders", "Orders"), link("/notifications", unread));
  // Pages of the admin's and the courier's; the BFF checks the role again.
  if (session.role === "admin") out.push(link("/admin", "Admin"), link("/status", "Status"));
  if (session.role === "courier") out.push(link("/courier", "My deliveries"));
  return out;
}

/** `refreshSeconds`: the browser reloads the page by itself that often (the status page; no script needed). */
export const Layout = (props: { title: string; chrome: Chrome; refreshSeconds?: number; children: Child }) => {
  const { chrome } = props;
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          {props.refreshSeconds ? <meta http-equiv="refresh" content={String(props.refreshSeconds)} /> : null}
          <title>{`${props.title} · Storefront`}</title>
          <style dangerouslySetInnerHTML={{ __html: CSS }} />
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="site">
            <div class="bar">
              <a class="brand" href="/">
                Storefront
              </a>
              <nav aria-label="Main">
                <ul>
                  {links(chrome).map((l) => (
                    <li>
                      <a href={l.href} aria-current={l.current ? "page" : undefined}>
                        {l.label}
                      </a>
                    </li>
                  ))}
                  {chrome.session ? (
                    <li>
                      <form method="post" action="/logout">
                        <CsrfField token={chrome.csrfToken} />
                        <button type="submit">Log out</button>
                      </form>
                    </li>
                  ) : null}
                </ul>
              </nav>
            </div>
          </header>
          <main id="main">
            {chrome.notice ? <Banner>{chrome.notice}</Banner> : null}
            {props.children}
          </main>
          <footer>
            <p>Storefront: a demonstration shop. Test cards only; nothing is really charged or shipped.</p>
          </footer>
        </body>
      </html>
    </>
  );
};
