/**
 * The previous release's lake, read and planned for adoption: its names parsed exactly (nothing
 * else taken for a lake file or a marker), and — over random histories of batches per partition
 * (committed, cut short, without valid records, late overlapping commits of a writer that lost
 * its partition, lakes older than markers, lost data dirs, `ferry run`'s journal) — every
 * committed offset adopted exactly once, nothing of a batch cut short, and each partition
 * continuing where the previous release would have.
 * Seeded: FERRY_FUZZ_SEED, FERRY_FUZZ_RUNS.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type LegacyFile, type LegacyLake, type LegacyMarker, parseLegacyKey, planAdoption, sameLake } from "../../../src/lake/legacy-lake.ts";
import { fuzzParams } from "../../helpers/hostile/generators.ts";

const pad = (n: number) => String(n).padStart(20, "0");
const fileKey = (topic: string, date: string, p: number, first: number, last: number) => `${topic}/date=${date}/part-${String(p).padStart(5, "0")}-${pad(first)}-${pad(last)}.parquet`;

describe("parseLegacyKey", () => {
  test("the previous release's names round-trip (any legal Kafka topic, partition and offsets)", () => {
    const topic = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).filter((t) => t !== "." && t !== "..");
    const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(topic, fc.integer({ min: 0, max: 99_999 }), offset, offset, fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("9999-12-31T00:00:00Z"), noInvalidDate: true }), (t, p, a, b, d) => {
        const [first, last] = a <= b ? [a, b] : [b, a];
        const date = d.toISOString().slice(0, 10);
        expect(parseLegacyKey(fileKey(t, date, p, first, last), "x")).toEqual({ file: { topic: t, date, partition: p, firstOffset: first, lastOffset: last, path: "x" } });
        expect(parseLegacyKey(`_ferry/commits/${t}/${p}/${pad(last)}-${pad(first)}-0a1b2c3d-4e5f-6789-abcd-ef0123456789`, "")).toEqual({ marker: { topic: t, partition: p, firstOffset: first, lastOffset: last } });
      }),
      fuzzParams(300),
    );
  });

  test("nothing else is taken for a lake file or a marker: DuckLake's own files, orphans, temp names, other depths", () => {
    for (const key of [
      "main/lake/date=2026-03-01/ducklake-0199a2b3.parquet",
      "main/lake/date=2026-03-01/part-00000-00000000000000000000-00000000000000000009.parquet",
      "ferry_offsets/t%2F0/ducklake-1.parquet",
      "_orphans/t/date=2026-03-01/part-00000-00000000000000000000-00000000000000000009.parquet",
      "t/date=2026-03-01/part-00000-00000000000000000000-00000000000000000009.parquet.tmp",
      "t/date=2026-3-01/part-00000-00000000000000000000-00000000000000000009.parquet",
      "t/2026-03-01/part-00000-00000000000000000000-00000000000000000009.parquet",
      "t/date=2026-03-01/",
      "_ferry/commits/t/0/",
      "_ferry/commits/t/0/9-0-writer",
      "_ferry/commits/t/x/00000000000000000009-00000000000000000000-abc",
      "_ferry/commits/t/0/00000000000000000009-00000000000000000000-NOT-HEX",
      "_ferry/writer",
    ]) {
      expect(parseLegacyKey(key, "x")).toEqual({});
    }
  });
});

describe("sameLake", () => {
  test("a data dir's recorded lake is this data path only when both are local or both the same s3:// prefix", () => {
    expect(sameLake(undefined, { url: "/d/lake/" })).toBe(true);
    expect(sameLake("local", { url: "/d/lake/" })).toBe(true);
    expect(sameLake("local", { url: "s3://b/p/" })).toBe(false);
    expect(sameLake("s3://b/p", { url: "s3://b/p/" })).toBe(true);
    expect(sameLake("s3://b/p", { url: "s3://b/q/" })).toBe(false);
    expect(sameLake("s3://b/p", { url: "/d/lake/" })).toBe(false);
  });
});

/** A partition's history as the previous release could have left it. */
interface Batch {
  first: number;
  last: number;
  /** committed: files, marker, the data dir's offset moved; committed-before-table: files and marker (the process died before its table); cut: some of its files only. */
  outcome: "committed" | "committed-before-table" | "cut";
  /** The dates of its valid records (one file each; a record's date is its own: dateOf). None: no valid record, no file. */
  dates: string[];
  /** How many of its files a cut batch published. */
  published: number;
}
interface History {
  topic: string;
  partition: number;
  batches: Batch[];
  /** Which offsets hold invalid records (dead-lettered, never in the lake): every k-th (0: none), and these ranges. */
  invalidEvery: number;
  invalidRanges: [number, number][];
  /** A lake older than markers: none for this partition (and one writer: no late commits). */
  noMarkers: boolean;
  /** The data dir has no offset for it (another member's partition, or a lost data dir). */
  noDataDirOffset: boolean;
}

const DATES = ["2026-03-01", "2026-03-02", "2026-03-03"];
/** The date of the record at an offset (the same record whoever reads it). */
const dateOf = (offset: number) => DATES[(Math.imul(offset + 1, 2654435761) >>> 0) % 3]!;
const validIn = (h: Pick<History, "invalidEvery" | "invalidRanges">, o: number) => (h.invalidEvery === 0 || o % h.invalidEvery !== 0) && !h.invalidRanges.some(([a, b]) => o >= a && o <= b);
const batchArb = fc.record({
  size: fc.integer({ min: 1, max: 30 }),
  /** A writer that lost the partition committing late: starts this far before the end of what is there. */
  back: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
  outcome: fc.constantFrom<Batch["outcome"]>("committed", "committed", "committed", "committed-before-table", "cut"),
  published: fc.integer({ min: 1, max: 3 }),
  /** No valid record at all (only for offsets no batch read before: a record's validity is its own). */
  allInvalid: fc.boolean(),
});
const historyArb = (topic: string, partition: number) =>
  fc
    .record({ batches: fc.array(batchArb, { maxLength: 8 }), invalidEvery: fc.constantFrom(0, 0, 4, 1), noMarkers: fc.boolean(), noDataDirOffset: fc.boolean() })
    .map(({ batches, invalidEvery, noMarkers, noDataDirOffset }): History => {
      let end = 0; // next offset after what the partition's writers committed
      let seen = 0; // next offset after what any batch read
      const invalidRanges: [number, number][] = [];
      const out: Batch[] = [];
      for (const b of batches) {
        // Only a writer that lost the partition starts before its end (never in a lake older than markers); after a cut batch the next one redoes it.
        const first = Math.max(0, end - (noMarkers ? 0 : b.back));
        const last = first + b.size - 1;
        if (b.allInvalid && first >= seen) invalidRanges.push([first, last]);
        seen = Math.max(seen, last + 1);
        const dates = DATES.filter((d) => Array.from({ length: b.size }, (_, i) => first + i).some((o) => dateOf(o) === d && validIn({ invalidEvery, invalidRanges }, o)));
        out.push({ first, last, outcome: b.outcome, dates, published: Math.min(b.published, dates.length) });
        if (b.outcome === "committed") end = Math.max(end, last + 1);
      }
      return { topic, partition, batches: out, invalidEvery, invalidRanges, noMarkers, noDataDirOffset };
    });

/** The lake, markers and data dir offsets a history leaves (as the previous release wrote them). */
function legacyOf(histories: History[]): LegacyLake {
  const files: LegacyFile[] = [];
  const markers: LegacyMarker[] = [];
  const offsets = new Map<string, number>();
  for (const h of histories) {
    let own: number | undefined;
    for (const b of h.batches) {
      // A partition's first batch records its first offset before any file (recordFirstOffsets).
      own ??= b.first;
      const its = b.dates.slice(0, b.outcome === "cut" ? b.published : undefined);
      for (const date of its) files.push({ topic: h.topic, date, partition: h.partition, firstOffset: b.first, lastOffset: b.last, path: `/l/${fileKey(h.topic, date, h.partition, b.first, b.last)}` });
      // One marker per partition range with files, once they are all published.
      if (b.outcome !== "cut" && its.length > 0 && !h.noMarkers) markers.push({ topic: h.topic, partition: h.partition, firstOffset: b.first, lastOffset: b.last });
      if (b.outcome === "committed") own = b.last + 1;
    }
    if (own !== undefined && !h.noDataDirOffset) offsets.set(`${h.topic}/${h.partition}`, own);
  }
  // A range written again (same name) replaces its file.
  return { files: [...new Map(files.map((f) => [f.path, f])).values()], markers, dataDir: { mode: "sink", offsets } };
}

/** The valid offsets of a batch in its file of one date. */
const offsetsIn = (h: History, b: Batch, date: string) => {
  const out: number[] = [];
  for (let o = b.first; o <= b.last; o++) if (dateOf(o) === date && validIn(h, o)) out.push(o);
  return out;
};

describe("planAdoption", () => {
  test("every committed offset adopted exactly once, nothing only a batch cut short holds; each partition continues past what is adopted", () => {
    const lakeArb = fc.tuple(historyArb("t", 0), historyArb("t", 1), historyArb("other.topic_x-1", 0));
    fc.assert(
      fc.property(lakeArb, (histories) => {
        const lake = legacyOf(histories);
        const plan = planAdoption(lake, { useDataDirOffsets: true });
        expect(plan.adopt.length + plan.left.length).toBe(lake.files.length);
        for (const h of histories) {
          const tp = `${h.topic}/${h.partition}`;
          const own = lake.dataDir!.offsets.get(tp);
          const marked = !h.noMarkers && lake.markers.some((m) => `${m.topic}/${m.partition}` === tp);
          // What the previous release itself held committed: marked ranges; before markers, what its offset had passed.
          const committed = (b: Batch) => b.outcome !== "cut" && (marked || (own !== undefined && b.last < own));
          const expected = new Set(h.batches.filter(committed).flatMap((b) => b.dates.flatMap((d) => offsetsIn(h, b, d))));
          // Adopted offsets: each file holds its date's offsets; one offset in two files only within an overlap group (adopted once there).
          const holders = new Map<number, (number | undefined)[]>();
          for (const f of plan.adopt.filter((f) => `${f.topic}/${f.partition}` === tp)) {
            const b = h.batches.find((x) => x.first === f.firstOffset && x.last === f.lastOffset && x.dates.includes(f.date))!;
            expect(b).toBeDefined();
            for (const o of offsetsIn(h, b, f.date)) holders.set(o, [...(holders.get(o) ?? []), f.overlapGroup]);
          }
          for (const groups of holders.values()) if (groups.length > 1) expect(groups.every((g) => g !== undefined && g === groups[0])).toBe(true);
          expect(new Set(holders.keys())).toEqual(expected);
          const next = plan.offsets.find((o) => `${o.topic}/${o.partition}` === tp)?.next;
          if (expected.size > 0) expect(next).toBeGreaterThan(Math.max(...expected));
          // Where the previous release would have resumed: past its last marked range, or its own offset if further.
          const lakeNext = marked ? Math.max(...lake.markers.filter((m) => `${m.topic}/${m.partition}` === tp).map((m) => m.lastOffset + 1)) : undefined;
          expect(next).toBe(lakeNext === undefined ? own : own === undefined ? lakeNext : Math.max(own, lakeNext));
        }
      }),
      fuzzParams(500),
    );
  });

  test("`ferry run`: the files below the journal's first sequence are adopted, the rest left; it continues at the journal (or the data dir's offset when the journal is empty)", () => {
    const f = (first: number, last: number, date = DATES[0]!): LegacyFile => ({ topic: "orders", date, partition: 0, firstOffset: first, lastOffset: last, path: `/l/${first}-${last}` });
    const files = [f(0, 99), f(0, 99, DATES[1]), f(100, 149), f(150, 199)];
    const withJournal = planAdoption({ files, markers: [], dataDir: { mode: "run", offsets: new Map([["orders/0", 260]]), journalMin: 150 } }, { useDataDirOffsets: true });
    expect(withJournal.adopt.map((x) => x.path)).toEqual(["/l/0-99", "/l/0-99", "/l/100-149"]);
    expect(withJournal.left.map((x) => x.path)).toEqual(["/l/150-199"]);
    expect(withJournal.offsets).toEqual([{ topic: "orders", partition: 0, next: 150 }]);
    const empty = planAdoption({ files, markers: [], dataDir: { mode: "run", offsets: new Map([["orders/0", 200]]) } }, { useDataDirOffsets: true });
    expect([empty.adopt.length, empty.left.length, empty.offsets]).toEqual([4, 0, [{ topic: "orders", partition: 0, next: 200 }]]);
  });

  test("a data dir's offsets of another lake are not used: a partition without markers adopts nothing", () => {
    const file: LegacyFile = { topic: "t", date: DATES[0]!, partition: 0, firstOffset: 0, lastOffset: 9, path: "/l/x" };
    const lake: LegacyLake = { files: [file], markers: [], dataDir: { mode: "sink", offsets: new Map([["t/0", 10]]) } };
    expect(planAdoption(lake, { useDataDirOffsets: true }).adopt).toHaveLength(1);
    const other = planAdoption(lake, { useDataDirOffsets: false });
    expect([other.adopt.length, other.left.length, other.offsets]).toEqual([0, 1, []]);
  });
});
