/**
 * `--checkpoint FILE`: which token ranges of an export are finished (every row acknowledged by
 * Kafka). Rewritten whole after each finished range: written to a temporary file, fsynced, renamed
 * over the old one, so a kill at any moment leaves the old or the new list, never half of one.
 * The file names what it is for; a checkpoint of another export is refused, not silently reused.
 */
import { readFile } from "node:fs/promises";
import { ConfigError, errorMessage } from "../errors.ts";
import { replaceFile } from "../pipeline/durable-files.ts";

/** What an export is: a checkpoint only resumes the same one. */
export interface ExportIdentity {
  keyspace: string;
  table: string;
  topic: string;
  splits: number;
  columns: string[];
}

export interface RangeCheckpoint {
  readonly done: ReadonlySet<number>;
  /** Records a finished range durably. Calls are serialized. */
  markDone(index: number): Promise<void>;
}

const same = (a: ExportIdentity, b: ExportIdentity) =>
  a.keyspace === b.keyspace && a.table === b.table && a.topic === b.topic && a.splits === b.splits && a.columns.join("\u0000") === b.columns.join("\u0000");

export async function openRangeCheckpoint(path: string | undefined, identity: ExportIdentity): Promise<RangeCheckpoint> {
  const done = new Set<number>();
  if (!path) return { done, markDone: async (i) => void done.add(i) };
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigError(`--checkpoint ${path}: cannot read: ${errorMessage(e)}`);
  }
  if (text !== undefined) {
    let saved: ExportIdentity & { done: number[] };
    try {
      saved = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`--checkpoint ${path}: not a ferry export checkpoint (${errorMessage(e)})`);
    }
    if (!same(saved, identity)) {
      throw new ConfigError(
        `--checkpoint ${path} belongs to another export (${saved.keyspace}.${saved.table} → ${saved.topic}, ${saved.splits} splits, columns ${saved.columns?.join(",")}); ` +
          "remove it or name another file",
      );
    }
    for (const i of saved.done) done.add(i);
  }
  let chain = Promise.resolve();
  const write = () => replaceFile(path, `${JSON.stringify({ ...identity, done: [...done].sort((a, b) => a - b) })}\n`);
  return {
    done,
    markDone(index) {
      done.add(index);
      chain = chain.then(write);
      return chain;
    },
  };
}
