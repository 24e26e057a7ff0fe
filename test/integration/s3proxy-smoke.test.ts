/**
 * The S3-compatible server the project's scripts start (S3Proxy, filesystem backend), reached with
 * the runtime's own S3 client, as `ferry sink --lake s3://…` does (test/integration/sink-s3.test.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { S3Client } from "bun";
import { ownS3 } from "../helpers/s3.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../helpers/servers.ts";

const s3 = ownS3(19900);
beforeAll(() => s3.start(), SERVER_HOOK_TIMEOUT);
afterAll(() => s3.stop(), SERVER_HOOK_TIMEOUT);

test("write, list, read back and delete an object (multipart above a size) with Bun's S3Client", async () => {
  const client = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: "us-east-1" });
  const prefix = uniqueName("smoke");
  await client.write(`${prefix}/small.txt`, "hello lake");
  const big = new Uint8Array(12 * 1024 * 1024).map((_, i) => i % 251);
  const writer = client.file(`${prefix}/big.bin`).writer({ partSize: 5 * 1024 * 1024 });
  writer.write(big);
  await writer.end();
  expect(await client.file(`${prefix}/small.txt`).text()).toBe("hello lake");
  expect(new Uint8Array(await client.file(`${prefix}/big.bin`).arrayBuffer())).toEqual(big);
  const listed = await client.list({ prefix: `${prefix}/` });
  expect((listed.contents ?? []).map((o) => o.key).sort()).toEqual([`${prefix}/big.bin`, `${prefix}/small.txt`]);
  await client.delete(`${prefix}/small.txt`);
  expect(await client.file(`${prefix}/small.txt`).exists()).toBe(false);
  // Wrong credentials are refused.
  const wrong = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: "ferry", secretAccessKey: "nope", region: "us-east-1" });
  await expect(wrong.write(`${prefix}/x.txt`, "x")).rejects.toThrow();
}, 60_000);
