/** Batches of orders for the lake's batch store, without Kafka (its unit and maintenance tests). */
import { createDecoder, type SourceRecord } from "../../src/pipeline/decode.ts";
import type { LakeBatchWrite } from "../../src/lake/batch-store.ts";

const decoder = createDecoder("orders");

/**
 * Orders `o-<id(offset)>` at offsets first..last of `partition` of topic t, quantity `quantity(offset)`,
 * ordered on one of `dates` days from 2026-03-01 (by offset).
 */
export async function orderBatch(
  first: number,
  last: number,
  sequence: number,
  o: { partition?: number; id?: (offset: number) => string | number; quantity?: (offset: number) => number; dates?: number } = {},
): Promise<LakeBatchWrite> {
  const partition = o.partition ?? 0;
  const id = o.id ?? ((n: number) => n);
  const quantity = o.quantity ?? ((n: number) => 1 + n);
  const dates = o.dates ?? 2;
  const b = decoder.newBatch();
  const msgs: SourceRecord[] = [];
  for (let n = first; n <= last; n++) {
    const value = { order_id: `o-${id(n)}`, product: "p", quantity: quantity(n), price: 1, ordered_at: `2026-03-0${1 + (n % dates)}T00:00:00Z` };
    msgs.push({ key: null, offset: String(n), timestamp: "0", value: Buffer.from(JSON.stringify(value)) });
  }
  await b.add("t", partition, msgs);
  return { ...(await b.finish()), ranges: [{ topic: "t", partition, firstOffset: first, lastOffset: last }], sequence };
}
