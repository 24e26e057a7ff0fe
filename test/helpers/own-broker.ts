/**
 * A Kafka broker of a test's own (scripts/services/kafka on other ports), so a test can stop or
 * kill -9 it while the shared broker stays up for the other tests. The script runs as a child
 * process without blocking the test's event loop (a restart takes seconds, and the test's
 * clients must go on meanwhile).
 */
import { resolve } from "node:path";
import { runCommand } from "./command.ts";

const SCRIPT = resolve(import.meta.dir, "../../scripts/services/kafka");

/**
 * `secure`: the script's secured broker (KAFKA_SECURE=1): SASL_SSL on `port` (PLAIN and SCRAM,
 * user `sasl.username`), SSL with required client certificates on port + 2; `stateDir()` holds
 * ca.pem, client-cert.pem and client-key.pem.
 */
export function ownBroker(port: number, opts: { secure?: boolean } = {}) {
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), KAFKA_SECURE: opts.secure ? "1" : "0" };
  const run = (cmd: "start" | "stop" | "kill") => runCommand(["bash", SCRIPT, cmd], env).then(() => {});
  return {
    address: `127.0.0.1:${port}`,
    start: () => run("start"),
    stop: () => run("stop"),
    /** SIGKILL: no clean shutdown. */
    kill: () => run("kill"),
    stateDir: () => Bun.spawnSync(["bash", SCRIPT, "statedir"], { env }).stdout.toString().trim(),
    /** The secured broker's SASL user (scripts/services/kafka's test defaults). */
    sasl: { username: "ferry", password: "ferry-test-secret" },
  };
}
