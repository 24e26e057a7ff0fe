/**
 * S3-compatible object storage through the runtime's own client (Bun's S3Client): the only module
 * that knows it. Objects are uploaded whole from a local file (the client switches to a multipart
 * upload above PART_SIZE), listed by prefix (all pages), read, and deleted.
 */
import { S3Client } from "bun";

export interface S3Settings {
  bucket: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Path-style addressing (http://host/bucket/key), as most S3-compatible servers want. */
  pathStyle: boolean;
}

const PART_SIZE = 8 << 20;

export interface ObjectStore {
  /** Uploads a local file as `key` (multipart above a size); resolves once the store has it whole. */
  putFile(key: string, path: string): Promise<void>;
  put(key: string, body: Uint8Array | string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  list(prefix: string): Promise<{ key: string; size: number }[]>;
  delete(key: string): Promise<void>;
}

export function openObjectStore(s: S3Settings): ObjectStore {
  const client = new S3Client({
    bucket: s.bucket,
    endpoint: s.endpoint,
    region: s.region,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    sessionToken: s.sessionToken,
    virtualHostedStyle: !s.pathStyle,
  });
  return {
    async putFile(key, path) {
      await client.write(key, Bun.file(path), { partSize: PART_SIZE, queueSize: 2 });
    },
    async put(key, body) {
      await client.write(key, body);
    },
    async get(key) {
      return new Uint8Array(await client.file(key).arrayBuffer());
    },
    async list(prefix) {
      const out: { key: string; size: number }[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await client.list({ prefix, continuationToken });
        for (const o of page.contents ?? []) out.push({ key: o.key, size: o.size ?? 0 });
        continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
      } while (continuationToken);
      return out;
    },
    async delete(key) {
      await client.delete(key);
    },
  };
}
