/** Who sees the status: bearer header or a session cookie from POST /login; the cookie never holds the token. */
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { bearerAuth } from "../../../src/http/auth.ts";
import { accessWarnings, SESSION_TTL_S, statusAccess } from "../../../src/status/access.ts";

const TOKEN = "s3cr3t-Token_1";

function app(tokens: string[], opts: { tls?: boolean; now?: () => number } = {}) {
  const access = statusAccess({ tokens, bearer: bearerAuth(tokens), tls: opts.tls ?? false, now: opts.now });
  const a = new Hono();
  a.get("/status.json", access.guard, (c) => c.json({ ok: true }));
  a.post("/login", access.login);
  a.post("/logout", access.logout);
  a.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.json({ error: err.message }, 500)));
  return { access, fetch: (path: string, init?: RequestInit) => a.request(`http://127.0.0.1:8080${path}`, init) };
}

const form = (token: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams({ token }).toString(),
});

const cookieOf = (res: Response) => res.headers.get("set-cookie")!.split(";")[0]!;

describe("status access", () => {
  test("without a token the status is open; beyond loopback that is a warning", async () => {
    const { access, fetch } = app([]);
    expect(access.open).toBe(true);
    expect((await fetch("/status.json")).status).toBe(200);
    expect(accessWarnings(true, true, "127.0.0.1")).toEqual([]);
    expect(accessWarnings(false, false, "0.0.0.0")).toEqual([]);
    expect(accessWarnings(true, false, "0.0.0.0").map((w) => w.code)).toEqual(["open-beyond-loopback"]);
  });

  test("with a token: 401 without it, 200 with the bearer header, 401 with a wrong one", async () => {
    const { fetch } = app([TOKEN]);
    const none = await fetch("/status.json");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await fetch("/status.json", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch("/status.json", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });

  test("POST /login sets an HttpOnly SameSite=Strict session cookie that is not the token; it opens the status; logout ends it", async () => {
    const { fetch } = app([TOKEN, "other"]);
    const bad = await fetch("/login", form("nope", { accept: "application/json" }));
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();

    const res = await fetch("/login", form(TOKEN));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("./");
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toContain("ferry_session_8080=");
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain(`Max-Age=${SESSION_TTL_S}`);
    expect(setCookie).not.toContain("Secure");
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).not.toContain(encodeURIComponent(TOKEN));
    const cookie = cookieOf(res);
    expect((await fetch("/status.json", { headers: { cookie } })).status).toBe(200);
    expect((await fetch("/status.json", { headers: { cookie: `${cookie}x` } })).status).toBe(401);
    // A JSON answer when asked for JSON (the page's fetch).
    const json = await fetch("/login", form("other", { accept: "application/json" }));
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ signed_in: true, token_required: true });

    const out = await fetch("/logout", { method: "POST", headers: { cookie } });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await fetch("/status.json", { headers: { cookie } })).status).toBe(401);
  });

  test("an HTTPS listener's cookie is Secure; a session expires", async () => {
    let now = 1_000_000;
    const { fetch } = app([TOKEN], { tls: true, now: () => now });
    const res = await fetch("/login", form(TOKEN));
    expect(res.headers.get("set-cookie")).toContain("Secure");
    const cookie = cookieOf(res);
    expect((await fetch("/status.json", { headers: { cookie } })).status).toBe(200);
    now += SESSION_TTL_S * 1000;
    expect((await fetch("/status.json", { headers: { cookie } })).status).toBe(401);
  });

  test("a sign-in posted from another site's page, a body that is not the form, or a huge one is refused", async () => {
    const { fetch } = app([TOKEN]);
    expect((await fetch("/login", form(TOKEN, { origin: "https://evil.example" }))).status).toBe(403);
    expect((await fetch("/login", form(TOKEN, { origin: "http://127.0.0.1:8080" }))).status).toBe(303);
    expect((await fetch("/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: TOKEN }) })).status).toBe(415);
    expect((await fetch("/login", form(TOKEN + "x".repeat(10_000)))).status).toBe(413);
  });
});
