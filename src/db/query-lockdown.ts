/**
 * The locked-down query setting (`--query-access locked`, `ferry query --access locked`): DuckDB's
 * enable_external_access = false, so that SQL can no longer read files or URLs outside the
 * directories ferry itself works in (read_text('/etc/passwd'), read_csv, glob, ATTACH, httpfs to
 * any host: "Permission Error").
 *
 * In DuckDB 1.5 the setting belongs to the whole database instance (every connection, the
 * writer's too), can be turned off but never on again while it runs, and freezes
 * allowed_directories. So ferry sets allowed_directories first to what its own writer uses — the
 * data dir (its temporary files, staging folders, batch files), the lake (a folder, or the
 * s3:// prefix) and DuckDB's temp directory — and loads httpfs and the lake's S3 secret before
 * (loading and the first secret need file access; replacing a secret later does not). User SQL
 * can read those directories and nothing else; the writer keeps working.
 */
import { resolve } from "node:path";
import { type Db, type S3Access, sqlString, useS3 } from "./duckdb.ts";

export type QueryAccess = "open" | "locked";
export const QUERY_ACCESS = ["open", "locked"] as const;

export interface LockdownPlaces {
  /** Directories the database's owner works in (local paths, or s3:// prefixes). */
  dirs: string[];
  /** The lake's S3 access, when it is on S3 (httpfs and the secret are set up before the lockdown). */
  s3?: S3Access;
}

/** Turns external access off for the whole instance of `db`, but for `places` (irreversible). */
export async function lockDown(db: Db, places: LockdownPlaces): Promise<void> {
  if (places.s3) await useS3(db, places.s3);
  const temp = (await db.query(`SELECT current_setting('temp_directory')`)).rows[0]?.[0];
  const dirs = new Set<string>();
  for (const d of [...places.dirs, ...(typeof temp === "string" && temp !== "" ? [temp] : [])]) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(d)) dirs.add(withSlash(d));
    else {
      // DuckDB compares the paths as SQL names them: both the given form and the absolute one.
      dirs.add(withSlash(d.replace(/^\.\//, "")));
      dirs.add(withSlash(resolve(d)));
    }
  }
  await db.exec(`SET allowed_directories = [${[...dirs].map(sqlString).join(", ")}]`);
  await db.exec(`SET enable_external_access = false`);
}

const withSlash = (d: string) => (d.endsWith("/") ? d : `${d}/`);

/** Whether `db`'s instance already has external access off. */
export async function isLockedDown(db: Db): Promise<boolean> {
  return (await db.query(`SELECT current_setting('enable_external_access')`)).rows[0]?.[0] === false;
}
