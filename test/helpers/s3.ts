/** An S3-compatible server of a test's own (scripts/services/s3proxy on another port) and its test credentials. */
import { resolve } from "node:path";

const SCRIPT = resolve(import.meta.dir, "../../scripts/services/s3proxy");

export function ownS3(port: number) {
  const env = { ...process.env, S3PROXY_PORT: String(port) };
  const run = async (cmd: "start" | "stop") => {
    const p = Bun.spawn(["bash", SCRIPT, cmd], { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`s3proxy ${cmd} (port ${port}) failed: ${err}`);
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: "ferry-lake",
    accessKeyId: "ferry",
    secretAccessKey: "ferry-test-secret",
    start: () => run("start"),
    stop: () => run("stop"),
  };
}
