/**
 * `ferry top` (src/modes/top.ts) off a terminal, through the CLI: one reading printed as text, a
 * clear error (exit 1) when it cannot read, the token from --auth-token-file or FERRY_AUTH_TOKEN.
 * Keys are decoded by keyActions. (On a real terminal: test/integration/status/top.test.ts.)
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyActions } from "../../../src/modes/top.ts";
import { count } from "../../../src/status/terminal-text.ts";
import { cli } from "../../helpers/cli.ts";

const SNAPSHOT = JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/status/sink.json"), "utf8"));
const TOKEN = "top-unit-test-token";
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (req) =>
    req.headers.get("authorization") === `Bearer ${TOKEN}` ? Response.json(SNAPSHOT) : Response.json({ error: "missing or invalid bearer token" }, { status: 401 }),
});
const dir = mkdtempSync(join(tmpdir(), "ferry-top-"));
afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});
const url = `http://127.0.0.1:${server.port}`;

test("keys: q, Q, Ctrl-C, Ctrl-D and a lone Esc quit; arrows, j/k, PgUp/PgDn, Home/End scroll; several at once", () => {
  for (const k of ["q", "Q", "\x03", "\x04", "\x1b"]) expect(keyActions(k)).toEqual(["quit"]);
  expect(keyActions("\x1b[A\x1b[Bjk")).toEqual(["up", "down", "down", "up"]);
  expect(keyActions("\x1b[5~\x1b[6~ \x1b[H\x1b[FgG")).toEqual(["pageUp", "pageDown", "pageDown", "top", "bottom", "top", "bottom"]);
  expect(keyActions("\x1bOA\x1bOB")).toEqual(["up", "down"]);
  // Other keys and unknown sequences do nothing (an arrow's ESC is not Esc).
  expect(keyActions("x\x1b[C\x1b[1;5A")).toEqual([]);
});

test("off a terminal: one reading as plain text (token from FERRY_AUTH_TOKEN), exit 0", async () => {
  const r = await cli(["top", url], { FERRY_AUTH_TOKEN: TOKEN });
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  expect(r.out).toContain("ferry top · sink 0.1.0");
  expect(r.out).toContain(count(SNAPSHOT.totals.in));
  expect(r.out).toContain("Lag · 18,000 records behind");
  expect(r.out).not.toContain("\x1b");
  expect(r.out).not.toContain(TOKEN);
  for (const line of r.out.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(80);
});

test("the token from --auth-token-file; a wrong or missing token is exit 1 saying so, the token not shown", async () => {
  const file = join(dir, "token");
  writeFileSync(file, `${TOKEN}\n`);
  expect((await cli(["top", url, "--auth-token-file", file])).code).toBe(0);
  const missing = await cli(["top", url]);
  expect(missing).toEqual({ code: 1, out: "", err: `ferry: top: ${url}/status.json wants a token (401): give --auth-token-file FILE or FERRY_AUTH_TOKEN\n` });
  const wrong = await cli(["top", url], { FERRY_AUTH_TOKEN: "not-the-token" });
  expect(wrong.code).toBe(1);
  expect(wrong.err).toContain("refused the token");
  expect(wrong.err).not.toContain("not-the-token");
  const both = await cli(["top", url, "--auth-token-file", file], { FERRY_AUTH_TOKEN: TOKEN });
  expect(both.code).toBe(2);
  expect(both.err).not.toContain(TOKEN);
});

test("an unreachable URL is exit 1 with 'cannot reach'; a bad URL is a config error", async () => {
  const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = closed.port;
  closed.stop(true);
  const r = await cli(["top", `http://127.0.0.1:${port}`]);
  expect(r).toEqual({ code: 1, out: "", err: `ferry: top: cannot reach http://127.0.0.1:${port}/status.json: connection refused (is ferry running there?)\n` });
  const bad = await cli(["top", "127.0.0.1:8080"]);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("must start with http:// or https://");
});
