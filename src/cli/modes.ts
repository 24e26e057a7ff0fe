/** Every mode of the binary, in the order `ferry --help` lists them. */
import type { Mode } from "../modes/mode.ts";
import { consumeMode } from "../modes/consume.ts";
import { generateMode } from "../modes/generate.ts";
import { exportMode } from "../modes/export.ts";
import { sinkMode } from "../modes/sink.ts";
import { probeMode } from "../modes/probe.ts";
import { runMode } from "../modes/run.ts";
import { serveMode } from "../modes/serve.ts";
import { queryMode } from "../modes/query.ts";
import { maintainMode } from "../modes/maintain.ts";
import { topMode } from "../modes/top.ts";

export const MODES: readonly Mode[] = [runMode, serveMode, sinkMode, generateMode, exportMode, consumeMode, queryMode, maintainMode, topMode, probeMode] as unknown as Mode[];

export const findMode = (name: string) => MODES.find((m) => m.name === name);
