/** Config fields shared by several modes. */
import * as v from "valibot";
import { LOG_LEVELS } from "../log/logger.ts";
import { oneOf, str } from "./fields.ts";

export const dataDirField = {
  dataDir: v.optional(str({ doc: "Folder holding ferry.duckdb and the Parquet lake.", placeholder: "DIR", min: 1 }), "./ferry-data"),
};

export const logLevelField = {
  logLevel: v.optional(oneOf(LOG_LEVELS, { doc: "Log level of the JSON-lines log on stderr." }), "notice"),
};
