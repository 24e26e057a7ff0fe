/**
 * `--crash-at POINT:N` (fault tests kill the process at a point of its N-th batch or rollup): the
 * field and the hook that acts on it, from one list of points.
 */
import * as v from "valibot";
import type { Logger } from "../log/logger.ts";
import { killSelf } from "../platform/process.ts";
import { str } from "./fields.ts";

export function crashAtSetting<P extends string>(points: readonly P[], unit: "batch" | "rollup") {
  const pattern = new RegExp(`^(${points.join("|")}):(\\d+)$`);
  return {
    field: v.optional(
      str({
        doc: `Testing: kill -9 this process at POINT of ${unit} N (${points.join(", ")}).`,
        placeholder: "POINT:N",
        pattern,
        patternHint: `must be POINT:N with POINT one of ${points.join(", ")}`,
      }),
    ),
    /** The fault hook of a --crash-at value: at that point of that batch or rollup, logs and kills the process. */
    hook(value: string | undefined, log: Logger): (point: P, n: number) => void {
      const crash = value ? pattern.exec(value) : null;
      return (point, n) => {
        if (crash && crash[1] === point && Number(crash[2]) === n) {
          log.notice("crashing on purpose (--crash-at)", { point, [unit]: n });
          killSelf();
        }
      };
    },
  };
}
