/**
 * A self-signed certificate made at test time with the JDK's keytool (SAN ip:127.0.0.1 and
 * dns:localhost), as PEM: the same recipe the scripts use (make_certificate in scripts/services/common.sh).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCommand } from "./command.ts";

const COMMON = resolve(import.meta.dir, "../../scripts/services/common.sh");

export async function selfSignedCertificate(): Promise<{ cert: string; key: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-cert-"));
  await runCommand(["bash", "-c", 'source "$1" && make_certificate "$2" server localhost ip:127.0.0.1,dns:localhost', "bash", COMMON, dir]);
  return { cert: join(dir, "server-cert.pem"), key: join(dir, "server-key.pem"), dir };
}
