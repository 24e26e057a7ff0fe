/** `ferry probe`: exit 0 when an HTTP endpoint answers 2xx — the container image's HEALTHCHECK. */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { duration, str } from "../config/fields.ts";
import { DownstreamError, errorMessage } from "../errors.ts";
import { defineMode } from "./mode.ts";

export const probeMode = defineMode({
  name: "probe",
  summary: "Check that an HTTP endpoint answers 2xx (for container health checks)",
  positional: { key: "url", name: "URL" },
  config: v.object({
    url: v.optional(str({ doc: "Endpoint to check.", placeholder: "URL", pattern: /^https?:\/\//, patternHint: "must start with http:// or https://" }), "http://127.0.0.1:8080/healthz"),
    timeout: v.optional(duration({ doc: "How long to wait for the answer.", min: 1 }), 2000),
    ...logLevelField,
  }),
  async run(config) {
    let res: Response;
    try {
      res = await fetch(config.url, { signal: AbortSignal.timeout(config.timeout) });
    } catch (e) {
      throw new DownstreamError("probe", `${config.url}: ${errorMessage(e)}`);
    }
    if (!res.ok) throw new DownstreamError("probe", `${config.url} answered ${res.status}`);
    return 0;
  },
});
