/** Config fields of the query path: how the running ferry answers `ferry query`, and what `ferry query` asks. */
import * as v from "valibot";
import { QUERY_ACCESS } from "../db/query-lockdown.ts";
import { DEFAULT_QUERY_SETTINGS, type QuerySettings } from "../db/query-service.ts";
import { duration, int, oneOf } from "./fields.ts";

const ACCESS_DOC = "open: SQL may read any file or URL this user can (read_csv, read_text, httpfs); locked: only the data dir and the lake";

/** `ferry run` and `ferry sink`: queries through <data-dir>/ferry.sock. */
export const queryServiceFields = {
  queryTimeout: v.optional(duration({ doc: "A query through ferry.sock (`ferry query` while this runs) is stopped after this long.", min: 100 }), DEFAULT_QUERY_SETTINGS.timeoutMs),
  queryMaxRows: v.optional(int({ doc: "A query through ferry.sock answering more rows than this is refused (the answer is held in this process).", placeholder: "ROWS", min: 1 }), DEFAULT_QUERY_SETTINGS.maxRows),
  queryAccess: v.optional(oneOf(QUERY_ACCESS, { doc: `What SQL through ferry.sock may read. ${ACCESS_DOC}.` }), DEFAULT_QUERY_SETTINGS.access),
};

export const querySettingsOf = (c: { queryTimeout: number; queryMaxRows: number; queryAccess: QuerySettings["access"] }): QuerySettings => ({
  timeoutMs: c.queryTimeout,
  maxRows: c.queryMaxRows,
  access: c.queryAccess,
});

/** `ferry query` itself. */
export const queryAskFields = {
  timeout: v.optional(duration({ doc: "Stop the query after this long (the running ferry's --query-timeout applies too, if shorter).", min: 100 }), DEFAULT_QUERY_SETTINGS.timeoutMs),
  access: v.optional(oneOf(QUERY_ACCESS, { doc: `What the SQL may read. ${ACCESS_DOC} (through a running ferry: only if it runs locked).` }), DEFAULT_QUERY_SETTINGS.access),
};
