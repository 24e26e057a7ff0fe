/** Preloaded by bun test (bunfig.toml): the same runtime-warning guard the binary installs. */
import { silenceRuntimeWarnings } from "../src/kafka/kafkajs/negative-timeouts.ts";

silenceRuntimeWarnings();
