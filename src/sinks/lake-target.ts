/**
 * Where the lake lives: a local folder (the default, <data-dir>/lake) or a prefix of an
 * S3-compatible bucket (`--lake s3://bucket/prefix`). Same layout and names either way:
 * <topic>/date=YYYY-MM-DD/part-<partition>-<first>-<last>.parquet. Files are staged locally by
 * DuckDB and published whole (locally: fsync and rename; on S3: one upload each, multipart above a
 * size — an object appears whole or not at all). Only then do the table transaction and the Kafka
 * commit happen. A file of a batch cut short is moved out: locally to
 * <data-dir>/lake-orphans/, on S3 under <prefix>/_orphans/ (readers skip `_` folders). The sinks
 * of one consumer group may share a lake (claimLake); its commit markers say what is committed.
 */
import { secretOf } from "../config/files.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import * as v from "valibot";
import { bool, str } from "../config/fields.ts";
import { dataPaths, type Db, recordLakeLocation, type S3Access } from "../db/duckdb.ts";
import { ConfigError } from "../errors.ts";
import { replaceFile } from "../pipeline/durable-files.ts";
import { openObjectStore, type ObjectStore, pathStyleFor } from "../platform/s3.ts";
import { type LakeFile, listLakeFiles, padOffset, parseLakeKey, publishLocal, sortLakeFiles, type StagedFile } from "./lake.ts";

export interface LakeTarget {
  /** A folder or s3://bucket/prefix, for logs. */
  readonly location: string;
  /** The folder DuckDB reads as the `lake` view, when the lake is local. */
  readonly localDir?: string;
  /** How DuckDB reaches the lake, when it is on S3. */
  readonly s3?: S3Access;
  /** Publishes staged files (each whole); `onPublished(n)` after the n-th. */
  publish(staged: StagedFile[], onPublished?: (count: number) => void): Promise<LakeFile[]>;
  /** The lake files of a topic (all dates), from their names, sorted. */
  list(topic: string): Promise<LakeFile[]>;
  /** Moves a file of a batch cut short out of the lake; answers where it went. */
  moveOut(file: LakeFile): Promise<string>;
  /** Who writes the lake (`_ferry/writer`: a consumer group, or one data dir), or undefined. */
  readWriter(): Promise<string | undefined>;
  writeWriter(id: string): Promise<void>;
  /**
   * Commit markers, `_ferry/commits/<topic>/<partition>/<last>-<first>-<writer>`: a partition's
   * offset range whose lake files are all published, and which data dir wrote them (see
   * lake-batches.ts).
   */
  listMarkers(topic: string): Promise<CommitMarker[]>;
  writeMarker(m: CommitMarker): Promise<void>;
}

export interface CommitMarker {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** The data dir that wrote the range (its writer id). */
  writer: string;
}

const markerKey = (m: CommitMarker) => `_ferry/commits/${m.topic}/${m.partition}/${padOffset(m.lastOffset)}-${padOffset(m.firstOffset)}-${m.writer}`;
const MARKER = /^_ferry\/commits\/(.+)\/(\d+)\/(\d{20})-(\d{20})-([0-9a-f-]+)$/;
function parseMarker(rel: string): CommitMarker | undefined {
  const m = MARKER.exec(rel);
  return m ? { topic: m[1]!, partition: Number(m[2]), lastOffset: Number(m[3]), firstOffset: Number(m[4]), writer: m[5]! } : undefined;
}

/**
 * Claims the lake for its writers (`owner`: the sinks of one consumer group, which hand partitions
 * to each other and recover them by the lake's commit markers). Writers of another group would
 * write the same records again, and are refused.
 */
export async function claimLake(lake: LakeTarget, owner: string): Promise<void> {
  const current = await lake.readWriter();
  if (current === owner) return;
  if (current !== undefined) {
    throw new ConfigError(`the lake ${lake.location} is written by another writer (${current}), not ${owner}: the sinks of one consumer group share a lake; give others a lake of their own (--lake)`);
  }
  await lake.writeWriter(owner);
  const after = await lake.readWriter();
  if (after !== owner) throw new ConfigError(`the lake ${lake.location} was claimed by another writer (${after}) at the same time: give others a lake of their own`);
}

/** How to reach S3 (for a lake there, and for `ferry query` over it). */
export const s3Fields = {
  s3Endpoint: v.optional(str({ doc: "S3 endpoint URL (default: AWS for the region).", placeholder: "URL", min: 1, alsoEnv: "AWS_ENDPOINT_URL" })),
  s3Region: v.optional(str({ doc: "S3 region.", placeholder: "REGION", min: 1, alsoEnv: "AWS_REGION" }), "us-east-1"),
  s3AccessKeyId: v.optional(str({ doc: "S3 access key id.", placeholder: "ID", min: 1, alsoEnv: "AWS_ACCESS_KEY_ID" })),
  s3SecretAccessKey: v.optional(str({ doc: "S3 secret access key. A flag shows in /proc to every local user: prefer the variable or --s3-secret-access-key-file.", placeholder: "KEY", min: 1, secret: true, alsoEnv: "AWS_SECRET_ACCESS_KEY" })),
  s3SecretAccessKeyFile: v.optional(str({ doc: "File holding the S3 secret access key (one line; a trailing newline is ignored).", placeholder: "FILE", min: 1 })),
  s3SessionToken: v.optional(str({ doc: "S3 session token (temporary credentials).", placeholder: "TOKEN", min: 1, secret: true, alsoEnv: "AWS_SESSION_TOKEN" })),
  s3PathStyle: v.optional(bool({ doc: "Path-style S3 addressing (http://host/bucket/key), as most S3-compatible servers want; --no-s3-path-style forces virtual-host style (http://bucket.host/key). Unset: path-style for an IP-address or localhost endpoint, virtual-host style otherwise (as AWS's SDKs do)." })),
};

export const lakeFields = {
  lake: v.optional(str({ doc: "Where the lake is: a folder, or s3://BUCKET/PREFIX on any S3-compatible store (default: <data-dir>/lake).", placeholder: "URL", min: 1 })),
  ...s3Fields,
};

export type LakeConfig = { dataDir: string; lake?: string; s3Endpoint?: string; s3Region: string; s3AccessKeyId?: string; s3SecretAccessKey?: string; s3SecretAccessKeyFile?: string; s3SessionToken?: string; s3PathStyle?: boolean };

/** The lake a config names, checked at the edge. */
export function lakeTargetOf(c: LakeConfig): LakeTarget {
  const url = c.lake;
  if (url === undefined) return dataDirLake(c.dataDir);
  if (!url.startsWith("s3://")) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new ConfigError(`--lake ${url}: only a folder or s3://bucket/prefix is supported`);
    return dataDirLake(c.dataDir, url);
  }
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError(`--lake ${url}: expected s3://BUCKET/PREFIX with a valid bucket name`);
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  const access = s3AccessOf(c);
  if (!access) throw new ConfigError(`--lake ${url} needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or --s3-access-key-id and FERRY_S3_SECRET_ACCESS_KEY)`);
  return s3Lake(openObjectStore({ bucket: m[1]!, ...access }), m[1]!, prefix, access);
}

/** The S3 settings of a config, the bucket aside (also how DuckDB reaches the lake: `ferry query`); undefined without credentials. */
export function s3AccessOf(c: Omit<LakeConfig, "dataDir" | "lake">): S3Access | undefined {
  const secret = secretOf(c.s3SecretAccessKey, c.s3SecretAccessKeyFile, "s3-secret-access-key");
  if (!c.s3AccessKeyId || !secret) return undefined;
  return { endpoint: c.s3Endpoint, region: c.s3Region, accessKeyId: c.s3AccessKeyId, secretAccessKey: secret, sessionToken: c.s3SessionToken, pathStyle: pathStyleFor(c.s3Endpoint, c.s3PathStyle) };
}

/**
 * Binds a database to its lake: records where the lake is (refusing another) and claims the lake
 * for `owner` (default: this data dir alone). Answers the data dir's writer id.
 */
export async function attachLake(db: Db, lake: LakeTarget, owner?: string): Promise<string> {
  const writer = await recordLakeLocation(db, lake.localDir ? "local" : lake.location);
  await claimLake(lake, owner ?? `data dir ${writer}`);
  return writer;
}

/** A local lake (default: <data-dir>/lake) whose orphans go to <data-dir>/lake-orphans/. */
export const dataDirLake = (dataDir: string, dir = dataPaths(dataDir).lake): LakeTarget => localLake(dir, join(dataDir, "lake-orphans"));

export function localLake(dir: string, orphansDir: string): LakeTarget {
  return {
    location: dir,
    localDir: dir,
    publish: (staged, onPublished) => publishLocal(dir, staged, onPublished),
    list: async (topic) => listLakeFiles(dir, topic),
    async moveOut(file) {
      const target = join(orphansDir, relative(dir, file.path));
      mkdirSync(dirname(target), { recursive: true });
      renameSync(file.path, target);
      return target;
    },
    async readWriter() {
      const path = join(dir, "_ferry", "writer");
      return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
    },
    async writeWriter(id) {
      mkdirSync(join(dir, "_ferry"), { recursive: true });
      writeFileSync(join(dir, "_ferry", "writer"), `${id}\n`);
    },
    async listMarkers(topic) {
      const root = join(dir, "_ferry", "commits", topic);
      if (!existsSync(root)) return [];
      const out: CommitMarker[] = [];
      for (const p of readdirSync(root)) for (const f of readdirSync(join(root, p))) {
        const m = parseMarker(`_ferry/commits/${topic}/${p}/${f}`);
        if (m) out.push(m);
      }
      return out;
    },
    async writeMarker(m) {
      const path = join(dir, markerKey(m));
      mkdirSync(dirname(path), { recursive: true });
      await replaceFile(path, "");
    },
  };
}

export function s3Lake(store: ObjectStore, bucket: string, prefix: string, access?: S3Access): LakeTarget {
  const keyOf = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  /** A key below the prefix, from an object's key. */
  const relKey = (key: string) => (prefix ? key.slice(prefix.length + 1) : key);
  const base = `s3://${bucket}/`;
  const relOf = (path: string) => relKey(path.slice(base.length));
  return {
    location: `s3://${bucket}${prefix ? `/${prefix}` : ""}`,
    s3: access,
    async publish(staged, onPublished = () => {}) {
      const out: LakeFile[] = [];
      for (const [i, f] of staged.entries()) {
        const { key: rel, ...placed } = f.to;
        const key = keyOf(rel);
        await store.putFile(key, f.from);
        out.push({ ...placed, path: `${base}${key}` });
        onPublished(i + 1);
      }
      return out;
    },
    async list(topic) {
      const files: LakeFile[] = [];
      for (const o of await store.list(keyOf(`${topic}/`))) {
        const parsed = parseLakeKey(relKey(o.key));
        if (parsed && parsed.topic === topic) files.push({ ...parsed, path: `${base}${o.key}` });
      }
      return sortLakeFiles(files);
    },
    async moveOut(file) {
      const from = keyOf(relOf(file.path));
      const to = keyOf(`_orphans/${relOf(file.path)}`);
      await store.put(to, await store.get(from));
      await store.delete(from);
      return `${base}${to}`;
    },
    async readWriter() {
      const found = await store.list(keyOf("_ferry/writer"));
      if (!found.some((o) => o.key === keyOf("_ferry/writer"))) return undefined;
      return new TextDecoder().decode(await store.get(keyOf("_ferry/writer"))).trim();
    },
    async writeWriter(id) {
      await store.put(keyOf("_ferry/writer"), `${id}\n`);
    },
    async listMarkers(topic) {
      const out: CommitMarker[] = [];
      for (const o of await store.list(keyOf(`_ferry/commits/${topic}/`))) {
        const m = parseMarker(relKey(o.key));
        if (m) out.push(m);
      }
      return out;
    },
    async writeMarker(m) {
      await store.put(keyOf(markerKey(m)), "");
    },
  };
}
