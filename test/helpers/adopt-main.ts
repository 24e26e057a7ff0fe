/**
 * Adopts a data dir's previous-release lake into its default catalog, as a store's open does, and
 * dies by SIGKILL at an adoption fault point (a real kill -9 in the middle of the catalog
 * transaction, for test/unit/lake/adopt.test.ts):
 *
 *   bun test/helpers/adopt-main.ts <data-dir> <fault-point>
 */
import { openDb } from "../../src/db/duckdb.ts";
import { type AdoptFaultPoint, adoptLegacyLake } from "../../src/lake/adopt.ts";
import { attachCatalog, catalogOf } from "../../src/lake/catalog.ts";
import { createOffsetsSchema } from "../../src/lake/offsets.ts";
import { createLakeTables } from "../../src/lake/tables.ts";
import { createLogger } from "../../src/log/logger.ts";

const [dataDir, killAt] = process.argv.slice(2) as [string, AdoptFaultPoint];
const db = await openDb(":memory:");
await attachCatalog(db, catalogOf({ dataDir }), { url: `${dataDir}/lake/` });
await createLakeTables(db, "orders");
await createOffsetsSchema(db);
const log = createLogger("info", (l) => process.stderr.write(l));
await adoptLegacyLake(
  db,
  {
    dataDir,
    dataPath: { url: `${dataDir}/lake/` },
    kind: "orders",
    writer: "killed",
    fault: (point) => {
      if (point === killAt) process.kill(process.pid, "SIGKILL");
    },
  },
  log,
);
process.stderr.write("adopted without dying\n");
