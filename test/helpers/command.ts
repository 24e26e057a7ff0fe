/** Runs a command to its end without blocking the test's event loop; its stdout, or an error with its stderr. */
export async function runCommand(cmd: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.slice(0, 4).join(" ")} … exited ${code}: ${err.slice(-2000)}`);
  return out;
}
