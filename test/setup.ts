/** Preloaded by bun test (bunfig.toml): the same runtime-warning guard the binary installs. */
import { silenceRuntimeWarnings } from "../src/platform/process.ts";

silenceRuntimeWarnings();
