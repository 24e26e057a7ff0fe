/**
 * Where the lake's Parquet files go (`--lake`): a folder (default <data-dir>/lake) or
 * s3://bucket/prefix on any S3-compatible store, reached with the S3 settings (s3Fields).
 */
import { resolve } from "node:path";
import { dataPaths } from "../db/duckdb.ts";
import { ConfigError } from "../errors.ts";
import { type LakeConfig, s3AccessOf } from "../sinks/lake-target.ts";
import type { DataPath } from "./catalog.ts";

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
