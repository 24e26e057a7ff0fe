/**
 * A self-signed certificate made at test time with the JDK's keytool (SAN ip:127.0.0.1 and
 * dns:localhost), exported as PEM: the certificate, and its key through scripts/services/PemKey.java.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PEM_KEY = resolve(import.meta.dir, "../../scripts/services/PemKey.java");
const JAVA_HOME = process.env.JAVA_HOME_17 ?? "/usr/lib/jvm/java-17-openjdk-amd64";

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd[0]} exited ${code}: ${err}`);
  return out;
}

export async function selfSignedCertificate(): Promise<{ cert: string; key: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-cert-"));
  const store = join(dir, "server.p12");
  const pass = "ferry-test";
  const keytool = `${JAVA_HOME}/bin/keytool`;
  await run([keytool, "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity", "30", "-dname", "CN=localhost",
    "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12", "-keystore", store, "-storepass", pass, "-keypass", pass]);
  const cert = join(dir, "cert.pem");
  await run([keytool, "-exportcert", "-rfc", "-alias", "server", "-keystore", store, "-storepass", pass, "-file", cert]);
  const key = join(dir, "key.pem");
  await Bun.write(key, await run([`${JAVA_HOME}/bin/java`, PEM_KEY, store, pass, "server"]));
  return { cert, key, dir };
}
