/**
 * The windows-x64 release binary: its PE headers read here (an x64 console program, PE32+; the
 * native code it embeds is checked by embedded.test.ts), and the binary itself run
 * under wine (Debian's wine64, a prefix of its own; see test/helpers/emulators.ts for the two
 * things bookworm's wine 8.0 needs before Bun's runtime starts): --version, a query on the
 * embedded DuckDB, and `ferry run` taking POSTed orders that `ferry query` reads back from its
 * table and the lake once it stopped on Ctrl-C. Debian bookworm's wine 8.0 has no AF_UNIX sockets:
 * `ferry run` goes on without <data-dir>/ferry.sock there and says so (a warning, the only one).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import bindings from "../../../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { type Emulator, wine64 } from "../../helpers/emulators.ts";
import { PE_MACHINE, PE_SUBSYSTEM, readPe, type PeInfo } from "../../helpers/executables.ts";
import { expectSuccess, postOrders, runFerry, startFerry } from "../../helpers/ferry-process.ts";
import { extractRelease, releaseArchives, VERSION } from "../../helpers/release.ts";

const TARGET = "windows-x64";
const DUCKDB_VERSION = bindings.version.replace(/-r\.\d+$/, "");
const UNDER_WINE = 3 * 60_000;

let release: ReturnType<typeof extractRelease>;
let file: Uint8Array;
let pe: PeInfo;
let wine: Emulator;
const ferry = () => [wine.command, release.binary];
const run = (args: string[], timeoutMs = 120_000) => runFerry(args, timeoutMs, wine.env, ferry());
/** A path of this machine as the Windows program sees it (wine maps / to Z:). */
const windowsPath = (path: string) => `Z:${path.replaceAll("/", "\\")}`;

beforeAll(async () => {
  [wine] = await Promise.all([wine64(), releaseArchives([TARGET])]);
  release = extractRelease(TARGET);
  file = readFileSync(release.binary);
  pe = readPe(file);
}, 20 * 60_000);
afterAll(() => release?.cleanup());

describe("windows-x64: the file", () => {
  test("a PE32+ console program for x64", () => {
    expect({ machine: pe.machine, optionalMagic: pe.optionalMagic, subsystem: pe.subsystem, executable: (pe.characteristics & 0x2) !== 0 }).toEqual({
      machine: PE_MACHINE.AMD64,
      optionalMagic: 0x20b,
      subsystem: PE_SUBSYSTEM.WINDOWS_CUI,
      executable: true,
    });
    expect(pe.imports.map((d) => d.toLowerCase())).toContain("kernel32.dll");
  });
});

describe("windows-x64 under wine", () => {
  test("--version names the version, the target and DuckDB", async () => {
    const r = await run(["--version"]);
    expectSuccess(r);
    expect(r.out).toStartWith(`ferry ${VERSION}`);
    expect(r.out).toContain(TARGET);
    expect(r.out).toContain(DUCKDB_VERSION);
  }, UNDER_WINE);

  test("query on the embedded DuckDB", async () => {
    const r = await run(["query", "--format", "csv", "select 42 as answer, version() as duckdb"]);
    expectSuccess(r);
    expect(r.out.replaceAll("\r\n", "\n")).toBe(`answer,duckdb\n42,v${DUCKDB_VERSION}\n`);
  }, UNDER_WINE);

  test("run takes POSTed orders, read back from its table and the lake after Ctrl-C", async () => {
    const dataDir = windowsPath(join(release.dir, "run-data"));
    const server = await startFerry(["run", "--port", "0", "--data-dir", dataDir], wine.env, ferry(), 120_000);
    try {
      const orders = [
        { order_id: "w-1", product: "tea", quantity: 2, price: 3.5 },
        { order_id: "w-2", product: "cake", quantity: 1, price: 4.25 },
        { order_id: "w-1", product: "tea", quantity: 5, price: 3.5 },
      ];
      const res = await postOrders(server.url, orders);
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 202, body: { accepted: 3 } });
    } finally {
      // wine turns SIGINT into the console's Ctrl-C, which the runtime hands to ferry (SIGTERM just kills it).
      expect(await server.stop("SIGINT", 60_000)).toBe(0);
    }
    // Debian bookworm's wine 8.0 has no AF_UNIX sockets (Windows 10 has them since 1803): ferry run
    // then goes on without <data-dir>/ferry.sock, saying so once; nothing else may be logged as a warning.
    const warnings = server.stderr().split("\n").filter((l) => /"level":"(warn|error)"/.test(l));
    for (const line of warnings) expect(line).toContain("this system has no local sockets");
    if (warnings.length) console.log("windows-x64: under this wine ferry run has no local socket (EAFNOSUPPORT), and says so");
    // From its files once it stopped (under this wine, not through a socket while it runs).
    const sql = "select (select string_agg(order_id || ':' || quantity, ' ' order by order_id) from orders) as orders, (select string_agg(order_id || ':' || quantity, ' ' order by kafka_offset) from lake) as lake";
    const r = await run(["query", "--data-dir", dataDir, "--format", "csv", sql]);
    expectSuccess(r);
    expect(r.out.replaceAll("\r\n", "\n")).toBe("orders,lake\nw-1:5 w-2:1,w-1:2 w-2:1 w-1:5\n");
  }, UNDER_WINE);
});
