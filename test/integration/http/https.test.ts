/** HTTPS on the ingress (`--tls-cert`, `--tls-key`, the runtime's own TLS), and `ferry probe` against it. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate } from "../../helpers/certs.ts";
import { type FerryProcess, order, runFerry, startFerry } from "../../helpers/ferry-process.ts";

let certs: { cert: string; key: string };
let ferry: FerryProcess;
beforeAll(async () => {
  certs = await selfSignedCertificate();
  ferry = await startFerry(["run", "--data-dir", mkdtempSync(join(tmpdir(), "ferry-https-")), "--port", "0", "--tls-cert", certs.cert, "--tls-key", certs.key]);
}, 60_000);
afterAll(async () => {
  expect(await ferry?.stop()).toBe(0);
});

test("ferry run serves HTTPS: a client trusting the certificate gets its 202; plain HTTP and untrusting clients do not", async () => {
  expect(ferry.url).toStartWith("https://127.0.0.1:");
  const post = (init: RequestInit) => fetch(`${ferry.url}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order("tls-1")), ...init });
  const ok = await post({ tls: { ca: readFileSync(certs.cert, "utf8") } } as RequestInit);
  expect(ok.status).toBe(202);
  await expect(post({}).then((r) => r.status)).rejects.toThrow(); // the system's CAs do not know it
  const plain = ferry.url.replace("https://", "http://");
  await expect(fetch(`${plain}/healthz`).then((r) => r.status)).rejects.toThrow();
});

test("ferry probe: the local check follows FERRY_PORT and FERRY_TLS_CERT; a given https URL is verified", async () => {
  const port = new URL(ferry.url).port;
  expect((await runFerry(["probe"], 10_000, { FERRY_PORT: port, FERRY_TLS_CERT: certs.cert })).code).toBe(0);
  expect((await runFerry(["probe", `${ferry.url}/healthz`, "--tls-cert", certs.cert], 10_000)).code).toBe(0);
  const untrusted = await runFerry(["probe", `${ferry.url}/healthz`], 10_000);
  expect(untrusted.code).toBe(1);
  expect(untrusted.err).toMatch(/^ferry: probe: https:\/\/127\.0\.0\.1:\d+\/healthz: .*(certificate|self.signed)/i);
  expect((await runFerry(["probe", "--port", port], 10_000)).code).toBe(1); // plain HTTP to the HTTPS port
});

test("--tls-cert without --tls-key, or an unreadable one: one line, exit 2", async () => {
  const half = await runFerry(["run", "--port", "0", "--tls-cert", certs.cert], 10_000);
  expect([half.code, half.err]).toEqual([2, "ferry: --tls-cert and --tls-key go together (HTTPS needs both)\n"]);
  const missing = await runFerry(["serve", "--brokers", "127.0.0.1:9", "--port", "0", "--tls-cert", "/nonexistent.pem", "--tls-key", certs.key], 10_000);
  expect(missing.code).toBe(2);
  expect(missing.err).toContain('invalid --tls-cert "/nonexistent.pem": cannot read it (ENOENT)');
});
