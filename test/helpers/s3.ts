/** An S3-compatible server of a test's own (scripts/services/s3proxy on another port) and its test credentials. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { S3Client } from "bun";
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

/** A client of a test S3 server's bucket. */
export const s3Client = (s3: ReturnType<typeof ownS3>) =>
  new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: "us-east-1" });

/** The keys under a prefix. */
export async function listKeys(s3: ReturnType<typeof ownS3>, prefix: string): Promise<string[]> {
  const client = s3Client(s3);
  const keys: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await client.list({ prefix, continuationToken });
    // The filesystem backend lists folders too, as keys ending in "/".
    for (const o of page.contents ?? []) if (!o.key.endsWith("/")) keys.push(o.key);
    continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (continuationToken);
  return keys.sort();
}

/** Downloads the objects under `prefix` (not those under `_`-folders) into a new local folder, keys as paths. */
export async function downloadPrefix(s3: ReturnType<typeof ownS3>, prefix: string): Promise<string> {
  const client = s3Client(s3);
  const dir = mkdtempSync(join(tmpdir(), "ferry-s3-copy-"));
  for (const key of await listKeys(s3, `${prefix}/`)) {
    const rel = key.slice(prefix.length + 1);
    if (rel.startsWith("_")) continue;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), new Uint8Array(await client.file(key).arrayBuffer()));
  }
  return dir;
}
