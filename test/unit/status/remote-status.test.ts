/**
 * Reading a ferry's /status.json (src/status/remote-status.ts) from a local HTTP server that
 * answers each way a server can: the snapshot, a token wanted or refused, nothing there, another
 * shape, no server at all. The token goes out as a bearer header and never into a message.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readStatus, shownUrl, statusUrlOf } from "../../../src/status/remote-status.ts";

const SNAPSHOT = JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/status/run.json"), "utf8"));
const TOKEN = "s3cret-token-for-top";
const seen: { path: string; auth: string | null; agent: string | null }[] = [];

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    const path = new URL(req.url).pathname;
    seen.push({ path, auth: req.headers.get("authorization"), agent: req.headers.get("user-agent") });
    switch (path) {
      case "/open/status.json":
        return Response.json(SNAPSHOT);
      case "/locked/status.json":
        return req.headers.get("authorization") === `Bearer ${TOKEN}` ? Response.json(SNAPSHOT) : Response.json({ error: "missing or invalid bearer token" }, { status: 401 });
      case "/broken/status.json":
        return Response.json({ error: "internal error: boom\nsecond line" }, { status: 500 });
      case "/html/status.json":
        return new Response("<html>proxy says hello</html>", { headers: { "content-type": "text/html" } });
      case "/other/status.json":
        return Response.json({ ...SNAPSHOT, version: "9.9.9", totals: { in: -1 } });
      case "/slow/status.json":
        return Bun.sleep(2000).then(() => Response.json(SNAPSHOT));
      default:
        return Response.json({ error: `no route for GET ${path}` }, { status: 404 });
    }
  },
});
afterAll(() => server.stop(true));
const base = `http://127.0.0.1:${server.port}`;
const read = (path: string, token?: string, timeoutMs = 5000) =>
  readStatus({ url: statusUrlOf(`${base}${path}`), token, userAgent: "ferry-top/test" }, AbortSignal.timeout(timeoutMs));

test("statusUrlOf: the listener's URL, with or without a slash, or /status.json itself", () => {
  expect(statusUrlOf("http://h:8080")).toBe("http://h:8080/status.json");
  expect(statusUrlOf("http://h:8080/")).toBe("http://h:8080/status.json");
  expect(statusUrlOf("http://h/ferry/")).toBe("http://h/ferry/status.json");
  expect(statusUrlOf("http://h:8080/status.json")).toBe("http://h:8080/status.json");
});

test("shownUrl drops a user name and password", () => {
  expect(shownUrl("http://user:pw@h:8080/")).toBe("http://h:8080/");
  expect(shownUrl("http://h:8080")).toBe("http://h:8080");
});

test("a snapshot is read and checked; the token goes out as a bearer header with ferry top's user agent", async () => {
  const open = await read("/open");
  expect(open.ok && open.snapshot.totals.in).toBe(SNAPSHOT.totals.in);
  const locked = await read("/locked", TOKEN);
  expect(locked.ok).toBe(true);
  expect(seen.at(-1)).toEqual({ path: "/locked/status.json", auth: `Bearer ${TOKEN}`, agent: "ferry-top/test" });
});

test("every failure is one line that says what to do, and never shows the token", async () => {
  const cases: [string, string | undefined, RegExp][] = [
    ["/locked", undefined, /status\.json wants a token \(401\): give --auth-token-file FILE or FERRY_AUTH_TOKEN$/],
    ["/locked", "wrong-token", /status\.json refused the token \(401\): check --auth-token-file or FERRY_AUTH_TOKEN$/],
    ["/nowhere", undefined, /answered 404: no ferry status there/],
    ["/broken", "wrong-token", /answered 500: internal error: boom$/],
    ["/html", undefined, /answered something that is not JSON: <html>proxy says hello<\/html>$/],
    ["/other", undefined, /answered a status this ferry top cannot read \(it runs ferry 9\.9\.9\): totals\.in: /],
  ];
  for (const [path, token, expected] of cases) {
    const r = await read(path, token);
    expect(r.ok).toBe(false);
    const message = r.ok ? "" : r.message;
    expect(message).toMatch(expected);
    expect(message).not.toContain("wrong-token");
    expect(message).not.toContain("\n");
  }
});

test("no server, no such host, no answer in time: 'cannot reach' and why", async () => {
  const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = closed.port;
  closed.stop(true);
  const refused = await readStatus({ url: `http://127.0.0.1:${port}/status.json`, userAgent: "t" }, AbortSignal.timeout(5000));
  expect(refused).toEqual({ ok: false, message: `cannot reach http://127.0.0.1:${port}/status.json: connection refused (is ferry running there?)` });
  const slow = await read("/slow", undefined, 300);
  expect(slow).toEqual({ ok: false, message: `cannot reach ${base}/slow/status.json: no answer in time` });
  const nohost = await readStatus({ url: "http://ferry-top-test.invalid/status.json", userAgent: "t" }, AbortSignal.timeout(5000));
  expect(nohost.ok ? "" : nohost.message).toStartWith("cannot reach http://ferry-top-test.invalid/status.json: ");
});
