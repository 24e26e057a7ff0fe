/**
 * Issue 19 end to end on `ferry run` (the compiled binary): hostile bodies POSTed for a bounded
 * time; every record answered 202 is read back unchanged through `ferry query` from the orders
 * table and, after a SIGTERM, from the lake (with the right date= folder); every refusal is a
 * 400/422 that names the record and field; ferry keeps answering 202 to a plain order after each
 * hostile body, stops cleanly, starts again and still serves, nothing lost.
 *
 * FERRY_FUZZ_SEED, FERRY_FUZZ_RUNS (bodies; default 300), FERRY_FUZZ_SECONDS (default 45: the
 * posting stops then, whatever the runs).
 */
import { beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { type BinaryProcess, queryJson, requireBinary, startBinary, storedRows } from "../../helpers/hostile/binary.ts";
import { bodyOf, deepValue, FUZZ_SEED, fuzzRuns, invalidUtf8, KNOWN_CLASSES, knownClass, mixedRecordTexts, nearMissJson, recordText, withBytesInString } from "../../helpers/hostile/generators.ts";
import { type BodyMeaning, httpViolations, type PostedRecord, storedByIdViolations } from "../../helpers/hostile/invariant.ts";
import { meaningOfBytes, meaningOfText } from "../../helpers/hostile/oracle.ts";

const SECONDS = Number(process.env.FERRY_FUZZ_SECONDS ?? 45);
const nowUs = () => BigInt(Date.now()) * 1000n;

beforeAll(requireBinary);

interface Posted {
  text: string | Uint8Array;
  contentType: string;
  meaning: BodyMeaning;
}

/** The bodies of a run: every known class, then generated ones (mixed hostility), some not UTF-8, some deeply nested. */
function bodies(): Posted[] {
  const out: Posted[] = KNOWN_CLASSES.map((c, k) => {
    const text = knownClass(c, `known-${k}`);
    return { text, contentType: "application/json", meaning: { records: [meaningOfText(text)] } };
  });
  const runs = fuzzRuns(300);
  for (let k = 0; k < runs; k++) {
    const kind = k % 20;
    if (kind === 7) {
      const [text, bytes] = fc.sample(fc.tuple(recordText({ strings: true }), invalidUtf8), { seed: FUZZ_SEED + k, numRuns: 1 })[0]!;
      const raw = withBytesInString(text.replace(/"order_id"\s*:\s*"/, `"order_id":"utf8-${k}-`), bytes);
      out.push({ text: raw, contentType: "application/json", meaning: { records: [meaningOfBytes(raw)], wholeRefuse: meaningOfBytes(raw).verdict === "MUST_REFUSE" ? "not UTF-8" : undefined } });
      continue;
    }
    if (kind === 13) {
      const [text, deep] = fc.sample(fc.tuple(recordText({}), deepValue), { seed: FUZZ_SEED + k, numRuns: 1 })[0]!;
      const bad = text.replace(/"quantity"\s*:\s*[^,}]+/, `"quantity":${deep}`);
      out.push({ text: bad, contentType: "application/json", meaning: { records: [meaningOfText(bad)] } });
      continue;
    }
    if (kind === 17) {
      const text = fc.sample(recordText({}).chain(nearMissJson), { seed: FUZZ_SEED + k, numRuns: 1 })[0]!;
      out.push({ text, contentType: "application/json", meaning: { records: [meaningOfText(text)] } });
      continue;
    }
    const b = fc.sample(bodyOf(mixedRecordTexts(`g${k}-`)), { seed: FUZZ_SEED + k, numRuns: 1 })[0]!;
    const meaning: BodyMeaning = { records: b.records.map(meaningOfText) };
    if (b.text.startsWith("\uFEFF")) meaning.wholeMay = "a BOM before the body";
    out.push({ text: b.text, contentType: b.contentType, meaning });
  }
  return out;
}

const show = (x: string | Uint8Array) => (typeof x === "string" ? JSON.stringify(x) : `bytes ${Buffer.from(x).toString("hex")}`);

async function post(url: string, body: string | Uint8Array, contentType: string) {
  const res = await fetch(`${url}/orders`, { method: "POST", headers: { "content-type": contentType }, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

let plainCount = 0;
/** A plain order: it must get its 202 whatever came before. */
async function postPlain(url: string, accepted: PostedRecord[], violations: string[], after: string) {
  const id = `plain-${plainCount++}`;
  const text = `{"order_id":"${id}","product":"tea","quantity":2,"price":3.5,"ordered_at":"2026-01-02T03:04:05Z"}`;
  const r = await post(url, text, "application/json");
  if (r.status !== 202) violations.push(`a plain order after ${after} answered ${r.status} ${JSON.stringify(r.body)}: ferry stopped serving`);
  else accepted.push({ meaning: meaningOfText(text), postedUs: [0n, 0n] });
}

test(
  "ferry run: hostile bodies are stored unchanged or refused with the record and field; ferry keeps serving and restarts",
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ferry-fuzz-run-"));
    const args = ["run", "--data-dir", dataDir, "--port", "0", "--interval", "1h"];
    const violations: string[] = [];
    const accepted: PostedRecord[] = [];
    let ferry: BinaryProcess | undefined = await startBinary(args);
    try {
      const deadline = Date.now() + SECONDS * 1000;
      let posted = 0;
      for (const b of bodies()) {
        if (Date.now() > deadline) break;
        posted++;
        const before = nowUs();
        const r = await post(ferry.url!, b.text, b.contentType);
        const after = nowUs();
        const v = httpViolations(b.meaning, { ...r, accepted: [] }, new Date(), false);
        if (v.length > 0) violations.push(`POST ${b.contentType} ${show(b.text)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}:\n    ${v.join("\n    ")}`);
        if (r.status === 202) for (const m of b.meaning.records) accepted.push({ meaning: m, postedUs: [before, after] });
        await postPlain(ferry.url!, accepted, violations, `body ${posted - 1} (${show(b.text).slice(0, 200)})`);
      }
      // Read your writes through the running ferry (its socket): the orders table.
      violations.push(...storedByIdViolations("orders table (ferry running)", accepted, await storedRows(dataDir, "orders")));

      // A clean stop rolls everything into the lake; ferry starts again and serves.
      const code = await ferry.stop("SIGTERM");
      if (code !== 0) violations.push(`SIGTERM: exit code ${code}\n${ferry.stderr().slice(-3000)}`);
      ferry = undefined;
      ferry = await startBinary(args).catch((e: Error) => {
        violations.push(`ferry run does not start again: ${e.message.slice(0, 3000)}`);
        return undefined;
      });
      if (ferry) {
        await postPlain(ferry.url!, accepted, violations, "the restart");
        violations.push(...storedByIdViolations("orders table (after a restart)", accepted, await storedRows(dataDir, "orders")));
        expect(await ferry.stop("SIGTERM")).toBe(0);
        ferry = undefined;
        violations.push(...storedByIdViolations("lake", accepted, await storedRows(dataDir, "lake")));
        const quarantined = await queryJson(dataDir, "SELECT * FROM rejected").catch(() => []);
        if (quarantined.length > 0) violations.push(`acknowledged (202) records were quarantined instead of stored: ${JSON.stringify(quarantined).slice(0, 2000)}`);
      }
      console.log(`seed ${FUZZ_SEED}: ${posted} bodies posted, ${accepted.length} records accepted (plain ones included)`);
      if (violations.length > 0) throw new Error(`seed ${FUZZ_SEED}, ${posted} bodies, ${accepted.length} records accepted: ${violations.length} violation(s):\n  - ${violations.join("\n  - ")}`);
    } finally {
      if (ferry) await ferry.stop("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
  (SECONDS + 90) * 1000,
);
