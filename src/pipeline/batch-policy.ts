/** When a micro-batch closes: after so many records, so many bytes, or so much time. */
import * as v from "valibot";
import { duration, int } from "../config/fields.ts";

export interface BatchPolicy {
  maxRecords: number;
  maxBytes: number;
  intervalMs: number;
}

export const batchPolicyFields = {
  interval: v.optional(duration({ doc: "A batch closes after this long, even when the topic is idle.", min: 10 }), 10_000),
  maxRecords: v.optional(int({ doc: "A batch closes at this many records.", min: 1 }), 100_000),
  maxBytes: v.optional(int({ doc: "A batch closes at this many bytes of keys and values.", placeholder: "BYTES", min: 1024 }), 64 << 20),
};

export const batchPolicyOf = (c: { interval: number; maxRecords: number; maxBytes: number }): BatchPolicy => ({
  intervalMs: c.interval,
  maxRecords: c.maxRecords,
  maxBytes: c.maxBytes,
});
