/**
 * Who may see the status (the page's data: GET /status.json and /status/events). Without a token
 * configured, anyone who reaches the listener (a listener beyond loopback says so in the
 * snapshot's warnings). With tokens (the same as POST /orders', checked by src/http/auth.ts):
 * either `Authorization: Bearer <token>` (`ferry top`, curl), or a session cookie a browser gets
 * from the page's small form (POST /login, form field `token`).
 *
 * The cookie never holds the token: it names a random session of this process (256 bits, 12 hours,
 * forgotten at exit or on POST /logout), HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page sends it), Secure on an HTTPS listener, and named after the listener's port (cookies
 * do not tell ports apart: two ferry processes on one host keep their sessions apart). The token a
 * form sends is compared in constant time (SHA-256 digests of equal length, every token compared).
 * A POST from a page of another origin (its Origin header) is refused.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, Handler, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { StatusWarning } from "./types.ts";

export const SESSION_TTL_S = 12 * 60 * 60;
const MAX_SESSIONS = 1000;
const MAX_FORM_BYTES = 8192;

export interface StatusAccessOptions {
  tokens: readonly string[];
  /** The bearer check of the same tokens (src/http/auth.ts), or undefined without tokens. */
  bearer: MiddlewareHandler | undefined;
  /** The listener serves HTTPS: the cookie is Secure. */
  tls: boolean;
  now?: () => number;
}

export interface StatusAccess {
  /** Whether anyone may see the status (no token configured). */
  readonly open: boolean;
  /** Lets a request through with a valid bearer header or session cookie; else 401. */
  guard: MiddlewareHandler;
  /** POST /login: a form with `token`; sets the session cookie (303 to the page, or 200 JSON when asked for JSON). */
  login: Handler;
  /** POST /logout: forgets the session, clears the cookie. */
  logout: Handler;
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** The session cookie's name on this listener (its port). */
function cookieName(c: Context): string {
  const url = new URL(c.req.url);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `ferry_session_${port}`;
}

/** A browser's POST names the page it came from: only this listener's own pages may sign in or out. */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (c.req.header("host") ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

const wantsJson = (c: Context) => (c.req.header("accept") ?? "").includes("application/json");
const NO_STORE = { "Cache-Control": "no-store" };

export function statusAccess(opts: StatusAccessOptions): StatusAccess {
  const now = opts.now ?? Date.now;
  const open = opts.tokens.length === 0;
  const digests = opts.tokens.map(digest);
  /** Session id → when it expires (ms). */
  const sessions = new Map<string, number>();

  const tokenMatches = (given: string): boolean => {
    const d = digest(given);
    let ok = false;
    for (const t of digests) ok = timingSafeEqual(d, t) || ok; // every token compared, whichever matches
    return ok;
  };

  const hasSession = (c: Context): boolean => {
    const id = getCookie(c, cookieName(c));
    if (id === undefined) return false;
    const expires = sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= now()) {
      sessions.delete(id);
      return false;
    }
    return true;
  };

  const newSession = (): string => {
    const t = now();
    for (const [id, expires] of sessions) if (expires <= t) sessions.delete(id);
    // The oldest go first (a Map keeps insertion order).
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    const id = randomBytes(32).toString("base64url");
    sessions.set(id, t + SESSION_TTL_S * 1000);
    return id;
  };

  const guard: MiddlewareHandler = async (c, next) => {
    if (open) return next();
    if (c.req.header("authorization") !== undefined && opts.bearer) return opts.bearer(c, next);
    if (hasSession(c)) return next();
    return c.json({ error: "sign in first: the page's form (POST /login, field token), or send Authorization: Bearer <token>" }, 401, {
      "WWW-Authenticate": 'Bearer realm="ferry"',
      ...NO_STORE,
    });
  };

  const login: Handler = async (c) => {
    if (!sameOrigin(c)) return c.json({ error: "a sign-in from another site's page is refused" }, 403, NO_STORE);
    if (open) return wantsJson(c) ? c.json({ signed_in: true, token_required: false }, 200, NO_STORE) : c.redirect("./", 303);
    const declared = Number(c.req.header("content-length") ?? 0);
    if (declared > MAX_FORM_BYTES) return c.json({ error: `the sign-in form is at most ${MAX_FORM_BYTES} bytes` }, 413, NO_STORE);
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") return c.json({ error: "send the form as application/x-www-form-urlencoded with a field token" }, 415, NO_STORE);
    const body = await c.req.text();
    if (body.length > MAX_FORM_BYTES) return c.json({ error: `the sign-in form is at most ${MAX_FORM_BYTES} bytes` }, 413, NO_STORE);
    const token = new URLSearchParams(body).get("token") ?? "";
    if (!tokenMatches(token)) return c.json({ error: "that token is not accepted" }, 401, NO_STORE);
    setCookie(c, cookieName(c), newSession(), { httpOnly: true, sameSite: "Strict", secure: opts.tls, path: "/", maxAge: SESSION_TTL_S });
    return wantsJson(c) ? c.json({ signed_in: true, token_required: true }, 200, NO_STORE) : c.redirect("./", 303);
  };

  const logout: Handler = (c) => {
    if (!sameOrigin(c)) return c.json({ error: "a sign-out from another site's page is refused" }, 403, NO_STORE);
    const name = cookieName(c);
    const id = getCookie(c, name);
    if (id !== undefined) sessions.delete(id);
    deleteCookie(c, name, { httpOnly: true, sameSite: "Strict", secure: opts.tls, path: "/" });
    return wantsJson(c) ? c.json({ signed_in: false }, 200, NO_STORE) : c.redirect("./", 303);
  };

  return { open, guard, login, logout };
}

/** The warning a listener open to others carries (no token, beyond loopback). */
export function accessWarnings(open: boolean, loopback: boolean, host: string): StatusWarning[] {
  if (!open || loopback) return [];
  return [
    {
      code: "open-beyond-loopback",
      message: `listening on ${host} without an auth token: anyone who reaches this address can see this status (set an auth token, or listen on 127.0.0.1)`,
    },
  ];
}

/** Whether `host` only takes connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}
