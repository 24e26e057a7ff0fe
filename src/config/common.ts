/** Config fields shared by several modes. */
import * as v from "valibot";
import { LOG_LEVELS } from "../log/logger.ts";
import { oneOf, str } from "./fields.ts";

export const dataDirField = {
  dataDir: v.optional(str({ doc: "Folder holding ferry's files: by default the lake's catalog (lake.ducklake) and data (lake/), ferry run's ferry.duckdb and write-ahead log.", placeholder: "DIR", min: 1 }), "./ferry-data"),
};

export const logLevelField = {
  logLevel: v.optional(oneOf(LOG_LEVELS, { doc: "Log level of the JSON-lines log on stderr." }), "notice"),
};
