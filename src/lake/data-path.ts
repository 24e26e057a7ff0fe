/**
 * Where the lake's Parquet files go (`--lake`): a folder (default <data-dir>/lake) or
 * s3://bucket/prefix on any S3-compatible store, reached with the S3 settings (s3Fields; how a
 * bucket is addressed is chosen once, by pathStyleFor).
 */
import { resolve } from "node:path";
import * as v from "valibot";
import { secretOf } from "../config/files.ts";
import { bool, str } from "../config/fields.ts";
import { dataPaths, type S3Access } from "../db/duckdb.ts";
import { ConfigError } from "../errors.ts";
import { pathStyleFor } from "../platform/s3.ts";
import type { DataPath } from "./catalog.ts";

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

/** The S3 settings of a config, the bucket aside (also how DuckDB reaches the lake: `ferry query`); undefined without credentials. */
export function s3AccessOf(c: Omit<LakeConfig, "dataDir" | "lake">): S3Access | undefined {
  const secret = secretOf(c.s3SecretAccessKey, c.s3SecretAccessKeyFile, "s3-secret-access-key");
  if (!c.s3AccessKeyId || !secret) return undefined;
  return { endpoint: c.s3Endpoint, region: c.s3Region, accessKeyId: c.s3AccessKeyId, secretAccessKey: secret, sessionToken: c.s3SessionToken, pathStyle: pathStyleFor(c.s3Endpoint, c.s3PathStyle) };
}

export function dataPathOf(c: LakeConfig): DataPath {
  const url = c.lake;
  if (url === undefined) return { url: `${resolve(dataPaths(c.dataDir).lake)}/` };
  if (!url.startsWith("s3://")) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new ConfigError(`--lake ${url}: only a folder or s3://bucket/prefix is supported`);
    return { url: `${resolve(url)}/` };
  }
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError(`--lake ${url}: expected s3://BUCKET/PREFIX with a valid bucket name`);
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  const s3 = s3AccessOf(c);
  if (!s3) throw new ConfigError(`--lake ${url} needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or --s3-access-key-id and --s3-secret-access-key-file)`);
  return { url: `s3://${m[1]}/${prefix ? `${prefix}/` : ""}`, s3 };
}
