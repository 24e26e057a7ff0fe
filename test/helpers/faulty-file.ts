/**
 * A real file (node:fs/promises) whose operations fail on demand, for the write-ahead log's tests:
 * short writes, EIO or ENOSPC on write (after some bytes reached the file, as a failing disk does),
 * EIO on fdatasync/fsync (the data is in the file, the call reports failure), a failing truncate.
 */
import { open } from "node:fs/promises";
import type { OpenWalFile, WalFile } from "../../src/sinks/write-ahead-log.ts";

export type FaultOp = "write" | "datasync" | "sync" | "truncate" | "open";
export interface Fault {
  op: FaultOp;
  /** "short": the write takes only `bytes` of what it was given (no error); others throw that errno code. */
  kind: "short" | "EIO" | "ENOSPC";
  /** For writes: how many bytes really reach the file before the fault (default: half). */
  bytes?: number;
}

function errno(code: "EIO" | "ENOSPC", op: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${op}`);
  e.code = code;
  e.errno = code === "EIO" ? -5 : -28;
  return e;
}

/** Faults are taken in order, each by the next call of its operation; `always` fails every call of an operation until cleared. */
export function faultyFiles() {
  const planned: Fault[] = [];
  const always = new Map<FaultOp, Fault["kind"]>();
  const calls: string[] = [];
  const take = (op: FaultOp): Fault | undefined => {
    const k = always.get(op);
    if (k) return { op, kind: k };
    const i = planned.findIndex((f) => f.op === op);
    return i === -1 ? undefined : planned.splice(i, 1)[0];
  };
  const failIf = async (op: FaultOp, real: () => Promise<void>) => {
    calls.push(op);
    const f = take(op);
    if (f && f.kind !== "short") {
      if (op === "datasync" || op === "sync") await real(); // the bytes are in the file; the report is the failure
      throw errno(f.kind, op);
    }
    await real();
  };
  const openFile: OpenWalFile = async (path, flags) => {
    const f = take("open");
    if (f && f.kind !== "short") throw errno(f.kind, "open");
    const h = await open(path, flags, 0o600);
    const file: WalFile = {
      read: (b, o, l, p) => h.read(b, o, l, p),
      stat: () => h.stat(),
      close: () => h.close(),
      datasync: () => failIf("datasync", () => h.datasync()),
      sync: () => failIf("sync", () => h.sync()),
      truncate: (n) => failIf("truncate", () => h.truncate(n)),
      async write(b, o, l, p) {
        calls.push("write");
        const fault = take("write");
        if (!fault) return h.write(b, o, l, p);
        const part = Math.min(l, fault.bytes ?? Math.floor(l / 2));
        if (part > 0) await h.write(b, o, part, p);
        if (fault.kind === "short") return { bytesWritten: part };
        throw errno(fault.kind, `write after ${part} of ${l} bytes`);
      },
    };
    return file;
  };
  return {
    open: openFile,
    /** Plans faults: each is taken by the next call of its operation. */
    plan: (...faults: Fault[]) => planned.push(...faults),
    fail: (op: FaultOp, kind: Fault["kind"]) => always.set(op, kind),
    heal: () => {
      always.clear();
      planned.length = 0;
    },
    calls,
    pending: () => planned.length,
  };
}
