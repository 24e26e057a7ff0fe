/**
 * `ferry top` in a real terminal (tmux, test/helpers/tmux.ts) against a real `ferry run`, both
 * dist/ferry: the numbers move while orders are posted, q and Ctrl-C quit and give the shell its
 * terminal back (main screen, cursor shown, the same stty settings, the prompt), a resize redraws,
 * a URL where nothing listens says "cannot reach" and keeps trying, a server that goes away keeps
 * its last numbers on screen with how old they are, and SIGTERM restores the terminal too.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, type FerryProcess, order, postOrders, startFerry } from "../../helpers/ferry-process.ts";
import { ensureTmux, openTerminal, type Terminal } from "../../helpers/tmux.ts";

const FERRY = BINARY[0]!;
const base = mkdtempSync(join(tmpdir(), "ferry-top-"));
const TOKEN = `top-test-token-${process.pid}`;
const tokenFile = join(base, "token");
let server: FerryProcess;
const terminals: Terminal[] = [];

beforeAll(async () => {
  await ensureTmux();
  writeFileSync(tokenFile, `${TOKEN}\n`);
  server = await startFerry(["run", "--data-dir", join(base, "run"), "--port", "0", "--auth-token-file", tokenFile], {}, BINARY);
}, 300_000);

afterAll(async () => {
  for (const t of terminals) await t.close();
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

async function terminal(columns: number, rows: number, name: string): Promise<{ term: Terminal; dir: string }> {
  const dir = join(base, name);
  const term = await openTerminal({ columns, rows, cwd: dir });
  terminals.push(term);
  return { term, dir };
}

/** Types `ferry top ARGS` framed by stty snapshots and the exit code, as a person would at a prompt. */
const runTop = (term: Terminal, args: string) => term.type(`stty -g > before.stty; ${FERRY} top ${args}; echo "top exited $?"; stty -g > after.stty`, true);

/** The records table's "in" total on screen. */
function inTotal(screen: string[]): number | undefined {
  const row = screen.map((l) => /^in\s+\S+\s+\S+\s+([\d,]+)$/.exec(l)).find(Boolean);
  return row ? Number(row[1]!.replaceAll(",", "")) : undefined;
}

async function expectFullScreen(term: Terminal) {
  expect({ alternate: await term.pane("#{alternate_on}"), cursorShown: await term.pane("#{cursor_flag}") }).toEqual({ alternate: "1", cursorShown: "0" });
}

/** After top ended: its exit code on screen, the prompt back, main screen, cursor shown, stty as before. */
async function expectRestored(term: Terminal, dir: string, code = 0) {
  const promptAfterTop = (s: string[]) => {
    const exited = s.findIndex((l) => l.startsWith("top exited"));
    return exited >= 0 && s.slice(exited + 1).some((l) => l.startsWith("PROMPT$"));
  };
  const screen = await term.waitFor(promptAfterTop, "top to end and the prompt to come back");
  expect(screen.find((l) => l.startsWith("top exited"))).toBe(`top exited ${code}`);
  expect({ alternate: await term.pane("#{alternate_on}"), cursorShown: await term.pane("#{cursor_flag}") }).toEqual({ alternate: "0", cursorShown: "1" });
  expect(readFileSync(join(dir, "after.stty"), "utf8")).toBe(readFileSync(join(dir, "before.stty"), "utf8"));
  // top's screen is gone: the main screen shows the shell as it was.
  expect((await term.screen()).some((l) => l.startsWith("Records"))).toBe(false);
  expect((await term.screen()).join("\n")).not.toContain(TOKEN);
}

test("80×24: the numbers move while orders are posted; q quits and the terminal is the shell's again", async () => {
  const { term, dir } = await terminal(80, 24, "q");
  await runTop(term, `${server.url} --auth-token-file ${tokenFile}`);
  const first = await term.waitFor((s) => s[0]!.startsWith("ferry top · run ") && inTotal(s) !== undefined, "top's first screen");
  await expectFullScreen(term);
  expect(first[1]).toStartWith(server.url);
  const before = inTotal(first)!;
  for (let i = 0; i < 3; i++) {
    const r = await postOrders(server.url, Array.from({ length: 200 }, (_, k) => order(`top-${i}-${k}`)), { token: TOKEN });
    expect(r.status).toBe(202);
  }
  const moved = await term.waitFor((s) => (inTotal(s) ?? 0) >= before + 600, "the in total to grow by 600");
  expect(moved.join("\n")).toMatch(/202 ×\d/);
  expect(moved[1]).toMatch(/updated (just now|\ds ago)/);
  await term.keys("q");
  await expectRestored(term, dir);
}, 60_000);

test("40×15, then resized to 100×30: it fits either way; Ctrl-C quits and restores the terminal", async () => {
  const { term, dir } = await terminal(40, 15, "ctrl-c");
  await runTop(term, `${server.url}/ --auth-token-file ${tokenFile} --refresh 500ms`);
  const narrow = await term.waitFor((s) => /^run \S+ · up /.test(s[0]!) && inTotal(s) !== undefined, "top's narrow screen");
  await expectFullScreen(term);
  expect(narrow.at(-1)).toMatch(/^q quit · ↑↓ scroll \(\d+ below\)$/);
  // Scrolling down shows what did not fit.
  await term.keys("End");
  await term.waitFor((s) => /\(\d+ above\)$/.test(s.at(-1)!), "the bottom of the body");
  await term.resize(100, 30);
  const wide = await term.waitFor((s) => s[0]!.startsWith("ferry top · run ") && s.length === 30, "a redraw at 100×30");
  expect(wide.join("\n")).toContain("Dependency");
  await term.keys("C-c");
  await expectRestored(term, dir);
}, 60_000);

test("a URL where nothing listens: 'cannot reach', tried again and again; q quits", async () => {
  const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const url = `http://127.0.0.1:${closed.port}`;
  closed.stop(true);
  const { term, dir } = await terminal(60, 16, "unreachable");
  await runTop(term, `${url} --refresh 300ms`);
  const screen = await term.waitFor((s) => s.join(" ").includes("tries, for"), "several tries");
  await expectFullScreen(term);
  const text = screen.join(" ");
  expect(text).toContain(`cannot reach ${url}/status.json: connection refused`);
  await term.keys("q");
  await expectRestored(term, dir);
}, 60_000);

test("the server goes away: the last numbers stay with their age and the reason; SIGTERM restores the terminal", async () => {
  const other = await startFerry(["run", "--data-dir", join(base, "other-run"), "--port", "0"], {}, BINARY);
  const { term, dir } = await terminal(80, 20, "gone");
  try {
    await runTop(term, other.url);
    await term.waitFor((s) => s[0]!.startsWith("ferry top · run ") && inTotal(s) !== undefined, "top's first screen");
    expect((await postOrders(other.url, [order("gone-1"), order("gone-2")])).status).toBe(202);
    await term.waitFor((s) => inTotal(s) === 2, "the two orders");
  } finally {
    expect(await other.stop()).toBe(0);
  }
  const stale = await term.waitFor((s) => /^data \d+s old · cannot reach /.test(s[1]!), "the reason and the data's age");
  expect(inTotal(stale)).toBe(2);
  // SIGTERM to top itself (the pane's shell's child).
  const shell = await term.pane("#{pane_pid}");
  const children = readFileSync(`/proc/${shell}/task/${shell}/children`, "utf8").trim().split(/\s+/);
  expect(children).toHaveLength(1);
  process.kill(Number(children[0]), "SIGTERM");
  await expectRestored(term, dir);
}, 60_000);
