/** `ferry probe`: exit 0 when an HTTP endpoint answers 2xx — the container image's HEALTHCHECK. */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { duration, int, str } from "../config/fields.ts";
import { readConfigFile } from "../config/files.ts";
import { DownstreamError, errorMessage } from "../errors.ts";
import { httpFields, httpsFields } from "../http/config.ts";
import { defineMode } from "./mode.ts";

export const probeMode = defineMode({
  name: "probe",
  summary: "Check that an HTTP endpoint answers 2xx (for container health checks)",
  details:
    "Without a URL it checks this host's own ferry: /healthz on 127.0.0.1 at --port, over HTTPS when\n" +
    "--tls-cert is set (so the image's HEALTHCHECK follows FERRY_PORT and FERRY_TLS_CERT). That local\n" +
    "check is about liveness, so the certificate is not verified; a given https:// URL is verified\n" +
    "(against the system's CAs, and --tls-cert when set).",
  positional: { key: "url", name: "URL" },
  config: v.object({
    url: v.optional(str({ doc: "Endpoint to check (default: this host's ferry, see above).", placeholder: "URL", pattern: /^https?:\/\//, patternHint: "must start with http:// or https://" })),
    port: v.optional(int({ doc: "Port of this host's ferry, when no URL is given.", placeholder: "PORT", min: 1, max: 65535 }), httpFields.port.default),
    tlsCert: httpsFields.tlsCert,
    timeout: v.optional(duration({ doc: "How long to wait for the answer.", min: 1 }), 2000),
    ...logLevelField,
  }),
  async run(config) {
    const url = config.url ?? `${config.tlsCert ? "https" : "http"}://127.0.0.1:${config.port}/healthz`;
    const tls = config.url === undefined ? { rejectUnauthorized: false } : config.tlsCert ? { ca: readConfigFile(config.tlsCert, "tls-cert") } : undefined;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(config.timeout), ...(tls ? { tls } : {}) } as RequestInit);
    } catch (e) {
      throw new DownstreamError("probe", `${url}: ${errorMessage(e)}`);
    }
    if (!res.ok) throw new DownstreamError("probe", `${url} answered ${res.status}`);
    return 0;
  },
});
