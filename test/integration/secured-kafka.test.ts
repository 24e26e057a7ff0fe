/**
 * Secured Kafka, the real broker (scripts/services/kafka with KAFKA_SECURE=1 on port 39092):
 * certificates made with the JDK's keytool at start, SASL_SSL with PLAIN and SCRAM users created
 * at storage format, an SSL listener that requires client certificates. ferry produces, consumes
 * in a group and sinks over it, with settings from flags, FERRY_* variables and a config file;
 * a wrong password, an unknown CA and a plaintext client each end in one line within seconds;
 * the password never shows in logs or help.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectSuccess, order, postOrders, runFerry, startFerry } from "../helpers/ferry-process.ts";
import { ownBroker } from "../helpers/own-broker.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../helpers/servers.ts";

const broker = ownBroker(39092, { secure: true });
const SASL_SSL = "127.0.0.1:39092";
const MTLS = "127.0.0.1:39094";
const { username, password } = broker.sasl;
const work = mkdtempSync(join(tmpdir(), "ferry-secured-"));
let certs: { ca: string; cert: string; key: string };

beforeAll(async () => {
  await broker.start();
  const dir = broker.stateDir();
  certs = { ca: join(dir, "ca.pem"), cert: join(dir, "client-cert.pem"), key: join(dir, "client-key.pem") };
}, 120_000);
afterAll(async () => {
  await broker.stop();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

const sasl = (mechanism: string) => ["--brokers", SASL_SSL, "--kafka-ca", certs.ca, "--sasl-mechanism", mechanism, "--sasl-username", username];
const passwordEnv = { FERRY_SASL_PASSWORD: password };
const lines = (s: string) => s.split("\n").filter(Boolean);

describe("over SASL_SSL", () => {
  const topic = uniqueName("secured");

  test("generate with PLAIN (password from FERRY_SASL_PASSWORD), consume in a group with SCRAM-SHA-256 (password file)", async () => {
    const gen = await runFerry(["generate", ...sasl("plain"), "--topic", topic, "--count", "500", "--seed", "3", "--log-level", "debug"], 60_000, passwordEnv);
    expect(gen.code).toBe(0);
    expect(gen.err).toContain('"accepted":500');
    expect(gen.err).not.toContain(password);

    const file = join(work, "password");
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const group = uniqueName("secured-group");
    const args = ["consume", "--brokers", SASL_SSL, "--kafka-ca", certs.ca, "--sasl-mechanism", "scram-sha-256", "--sasl-username", username, "--sasl-password-file", file, "--topic", topic, "--from-beginning", "--max", "500", "--group", group];
    const consumed = await runFerry(args, 60_000);
    expect(consumed.code).toBe(0);
    const ids = new Set(lines(consumed.out).map((l) => (JSON.parse(l) as { order_id: string }).order_id));
    expect(ids.size).toBe(500);
  }, 120_000);

  test("sink with SCRAM-SHA-512 configured in a config file lands every record", async () => {
    const dataDir = join(work, "sink");
    const config = join(work, "ferry.toml");
    writeFileSync(
      config,
      `brokers = ["${SASL_SSL}"]\nkafka-ca = "${certs.ca}"\nsasl-mechanism = "scram-sha-512"\nsasl-username = "${username}"\n\n[sink]\ntopic = ["${topic}"]\ngroup = "${uniqueName("secured-sink")}"\ndata-dir = "${dataDir}"\n`,
    );
    const sink = await runFerry(["sink", "--config", config, "--until-caught-up", "--interval", "1s"], 90_000, passwordEnv);
    expectSuccess(sink);
    const q = await runFerry(["query", "--data-dir", dataDir, "--format", "csv", "select count(distinct order_id) as n from orders"]);
    expect(q.out.trim().split("\n")[1]).toBe("500");
  }, 120_000);

  test("serve over mutual TLS (client certificate, no SASL): a 202 order is in the topic", async () => {
    const mtlsTopic = uniqueName("secured-mtls");
    const ferry = await startFerry(["serve", "--brokers", MTLS, "--kafka-ca", certs.ca, "--kafka-cert", certs.cert, "--kafka-key", certs.key, "--topic", mtlsTopic, "--port", "0"]);
    try {
      expect((await postOrders(ferry.url, order("mtls-1"))).status).toBe(202);
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
    const consumed = await runFerry(["consume", "--brokers", MTLS, "--kafka-ca", certs.ca, "--kafka-cert", certs.cert, "--kafka-key", certs.key, "--topic", mtlsTopic, "--from-beginning", "--max", "1"]);
    expect(consumed.code).toBe(0);
    expect(JSON.parse(consumed.out).order_id).toBe("mtls-1");
  }, 60_000);
});

describe("refused, in one line and within seconds", () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["a wrong password", ["generate", "--brokers", SASL_SSL, "--kafka-ca", "<ca>", "--sasl-mechanism", "scram-sha-256", "--sasl-username", username], { FERRY_SASL_PASSWORD: "not-the-password" }, /SASL login refused/],
    ["an unknown CA (the system's CAs do not know the self-signed certificate)", ["generate", "--brokers", SASL_SSL, "--kafka-tls", "--sasl-mechanism", "plain", "--sasl-username", username], passwordEnv, /certificate is not trusted.*--kafka-ca/],
    ["a plaintext client at the TLS port", ["generate", "--brokers", SASL_SSL], {}, /closed the connection.*TLS/],
    ["no client certificate where one is required", ["generate", "--brokers", MTLS, "--kafka-ca", "<ca>"], {}, /client certificate/],
  ];
  for (const [what, args, env, message] of cases) {
    test(what, async () => {
      const started = Date.now();
      const r = await runFerry([...args.map((a) => (a === "<ca>" ? certs.ca : a)), "--topic", uniqueName("refused"), "--count", "10"], 30_000, env);
      const took = Date.now() - started;
      expect(r.code).toBe(1);
      expect(lines(r.err)).toHaveLength(1);
      expect(r.err).toMatch(message);
      expect(took).toBeLessThan(10_000);
      expect(r.err).not.toContain(password);
    }, 40_000);
  }

  test("a certificate that does not name the host (server name checked by default)", async () => {
    // A TLS server whose certificate (CN=ferry-client, no SAN) is trusted via --kafka-ca but names another host.
    const server = createServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await runFerry(["generate", "--brokers", `127.0.0.1:${port}`, "--kafka-ca", certs.cert, "--topic", "x", "--count", "1"], 30_000);
      expect(r.code).toBe(1);
      expect(lines(r.err)).toHaveLength(1);
      expect(r.err).toMatch(/does not name the host/);
    } finally {
      server.close();
    }
  }, 40_000);

  test("secrets stay out of --help and of config errors", async () => {
    const help = await runFerry(["serve", "--help"], 10_000, { FERRY_SASL_PASSWORD: "sekrit-value-123" });
    expect(help.code).toBe(0);
    expect(help.out).toContain("--sasl-password");
    expect(help.out).toContain("FERRY_SASL_PASSWORD");
    expect(help.out + help.err).not.toContain("sekrit-value-123");
    const bad = await runFerry(["serve", "--brokers", SASL_SSL, "--sasl-mechanism", "plain", "--sasl-username", "u", "--sasl-password", "sekrit-value-123", "--sasl-password-file", "/nonexistent"], 10_000);
    expect(bad.code).toBe(2);
    expect(bad.err).not.toContain("sekrit-value-123");
  });
});
