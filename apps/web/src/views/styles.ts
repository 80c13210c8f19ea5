// The one stylesheet, inline in every page (no external CSS, fonts or CDN), and its hash for the
// Content-Security-Policy, which allows this exact text and no other style. Contrast (WCAG AA needs 4.5:1):
// body text 17.4:1, links and buttons 6.4:1, the error red 6.5:1 on white (5.7:1 on its banner), the header
// 14.5:1, a disabled button 5.6:1.
import { createHash } from "node:crypto";

export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.site{background:#1f2a37;color:#fff}
header.site .bar{max-width:72rem;margin:0 auto;padding:.75rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between}
header.site a{color:#fff}
.brand{font-weight:700;font-size:1.25rem;text-decoration:none}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
nav a[aria-current=page]{font-weight:700;text-underline-offset:.3em}
.count{display:inline-block;min-width:1.5em;padding:0 .4em;border-radius:1em;background:#fff;color:#1f2a37;font-weight:700;text-align:center}
nav form{margin:0}
nav button{background:none;border:1px solid #fff;color:#fff;padding:.2rem .6rem}
main{max-width:72rem;margin:0 auto;padding:1rem}
footer{max-width:72rem;margin:2rem auto;padding:1rem;border-top:1px solid #d0d5dd;color:#4a4f57;font-size:.875rem}
h1{font-size:1.75rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:.25rem 0}
.banner{padding:.75rem 1rem;margin:0 0 1rem;border-left:.35rem solid #0b57d0;background:#eef4ff}
.banner.warn{border-color:#8a5300;background:#fff4e0}
.banner.error{border-color:#b3261e;background:#fdecea}
.grid{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1rem}
.card{border:1px solid #d0d5dd;border-radius:.5rem;padding:1rem;display:flex;flex-direction:column;gap:.5rem}
.price{font-size:1.1rem;font-weight:700}
.stock{color:#4a4f57}
.stock.out{color:#b3261e}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:auto}
.actions form{margin:0}
button,.button{font:inherit;cursor:pointer;background:#0b57d0;color:#fff;border:0;border-radius:.35rem;padding:.45rem .9rem;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:#0b57d0;border:1px solid #0b57d0}
button:disabled{background:#d0d5dd;color:#4a4f57;cursor:not-allowed}
table{border-collapse:collapse;width:100%;margin:0 0 1rem}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d0d5dd;vertical-align:top}
td.num,th.num{text-align:right}
form.stack{display:grid;gap:.9rem;max-width:32rem}
fieldset{border:1px solid #d0d5dd;border-radius:.5rem;padding:1rem;display:grid;gap:.9rem}
label{display:block;font-weight:600}
input,select{font:inherit;width:100%;padding:.45rem;border:1px solid #6b7280;border-radius:.35rem;margin-top:.25rem}
input[type=number]{width:5.5rem}
.inline{display:inline-flex;gap:.5rem;align-items:end;margin:0}
.inline label{font-weight:400}
.hint{color:#4a4f57;font-size:.875rem;font-weight:400}
.field-error{color:#b3261e;font-weight:600}
.unread{font-weight:700}
ol.history{padding-left:1.25rem}
.pager{display:flex;gap:1rem;margin:1rem 0}
.row-form{display:flex;gap:.5rem;align-items:end;margin:0}
.row-form input{width:7rem}
.row-form select{width:auto}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;list-style:none;padding:0}
.state{font-weight:700;padding:0 .4em;border-radius:.3em;border:1px solid currentColor}
.state.closed{color:#1b6b2f}
.state.open{color:#b3261e}
.state.half_open{color:#8a5300}
.state.unknown{color:#4a4f57}
svg.spark{vertical-align:middle;background:#f5f7fa}
.down{color:#b3261e;font-weight:700}
.up{color:#1b6b2f;font-weight:700}
`;

/** 'sha256-...' for the Content-Security-Policy's style-src. */
export const CSS_HASH = `'sha256-${createHash("sha256").update(CSS).digest("base64")}'`;
