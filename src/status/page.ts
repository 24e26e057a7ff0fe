/**
 * GET / on every HTTP listener: ferry's status page, one self-contained HTML document (its CSS and
 * script inline; no CDN, nothing fetched but status/events, status.json and login on the same
 * origin). Its parts live in src/status/page/ as plain files, imported as text so that the compiled
 * binary carries them; they are put together once, with a Content-Security-Policy that allows
 * exactly that inline style and script (by hash).
 */
import { createHash } from "node:crypto";
import htmlText from "./page/index.html" with { type: "text" };
import css from "./page/style.css" with { type: "text" };
import js from "./page/app.js" with { type: "text" };

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** Replaces the one `<!-- name -->` marker of `html` (a function: `$` in the inserted text stays as is). */
function fill(html: string, name: string, text: string): string {
  const marker = `<!-- ${name} -->`;
  if (html.split(marker).length !== 2) throw new Error(`status page: index.html must hold ${marker} once`);
  return html.replace(marker, () => text);
}

function assemble(): { html: string; csp: string } {
  const html = htmlText as unknown as string; // bun-types call any .html an HTMLBundle; `type: "text"` makes it a string
  if (/<\/(script|style)/i.test(js + css)) throw new Error("status page: app.js or style.css holds a closing tag");
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    "connect-src 'self'",
    "img-src data:",
    "form-action 'self'",
    "base-uri 'none'",
  ].join("; ");
  let page = fill(html, "csp", `<meta http-equiv="Content-Security-Policy" content="${csp}">`);
  page = fill(page, "style", `<style>${css}</style>`);
  page = fill(page, "script", `<script>${js}</script>`);
  return { html: page, csp: `${csp}; frame-ancestors 'none'` };
}

let built: { html: string; csp: string } | undefined;

/** The page's HTML (the same text every time; made on first use). */
export function statusPage(): string {
  built ??= assemble();
  return built.html;
}

/** Headers to send with the page: its CSP (also as a header, adding frame-ancestors, which a meta tag cannot carry), no caching, no sniffing. */
export function statusPageHeaders(): Record<string, string> {
  built ??= assemble();
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": built.csp,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
}
