/** An S3-compatible server of a test's own (scripts/services/s3proxy on another port) and its test credentials. */
import { resolve } from "node:path";
import { runCommand } from "./command.ts";

const SCRIPT = resolve(import.meta.dir, "../../scripts/services/s3proxy");

export function ownS3(port: number) {
  const env = { ...process.env, S3PROXY_PORT: String(port) };
  const run = (cmd: "start" | "stop") => runCommand(["bash", SCRIPT, cmd], env).then(() => {});
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: "ferry-lake",
    accessKeyId: "ferry",
    secretAccessKey: "ferry-test-secret",
    start: () => run("start"),
    stop: () => run("stop"),
  };
}
