/**
 * A real terminal for tests: a tmux server of the test's own (its own socket file, so nobody
 * else's tmux is touched), one window of a fixed size running a plain bash, keys sent and the screen
 * read back. tmux comes from Debian's package, installed (as root) when missing; apt's output goes
 * to a log file.
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "./command.ts";

const SETUP_LOG = join(tmpdir(), "ferry-test-tmux-setup.log");

/** Installs tmux from Debian when it is not on the PATH. */
export async function ensureTmux(): Promise<void> {
  if (Bun.which("tmux")) return;
  const install = `{ apt-get install -y --no-install-recommends tmux || { apt-get update && apt-get install -y --no-install-recommends tmux; }; } >>'${SETUP_LOG}' 2>&1`;
  try {
    await runCommand(["bash", "-c", install], { DEBIAN_FRONTEND: "noninteractive" });
  } catch {
    throw new Error(`cannot install tmux (apt-get install tmux failed; see ${SETUP_LOG})`);
  }
  if (!Bun.which("tmux")) throw new Error(`tmux is still missing after apt-get install (see ${SETUP_LOG})`);
}

export interface Terminal {
  /** Types text (literally) into the pane, then Enter when `enter`. */
  type(text: string, enter?: boolean): Promise<void>;
  /** Sends tmux key names (e.g. "C-c", "q", "Up"). */
  keys(...names: string[]): Promise<void>;
  /** The visible screen, one string per row (trailing spaces trimmed). */
  screen(): Promise<string[]>;
  /** A tmux format of the pane, e.g. "#{alternate_on}" or "#{cursor_flag}". */
  pane(format: string): Promise<string>;
  resize(columns: number, rows: number): Promise<void>;
  /** Waits until `test` holds on the screen (polling); the last screen in the error otherwise. */
  waitFor(test: (screen: string[]) => boolean, what: string, timeoutMs?: number): Promise<string[]>;
  /** Ends this tmux server and everything in its pane. */
  close(): Promise<void>;
}

let sessions = 0;

/** Opens a `columns`×`rows` terminal running bash with the prompt "PROMPT$ " in `cwd`. */
export async function openTerminal(opts: { columns: number; rows: number; cwd: string; env?: Record<string, string> }): Promise<Terminal> {
  await ensureTmux();
  // A socket file of its own (tmux leaves it behind after kill-server: removed in close).
  const socket = join(tmpdir(), `ferry-test-tmux-${process.pid}-${++sessions}.sock`);
  const tmux = (...args: string[]) => runCommand(["tmux", "-S", socket, "-f", "/dev/null", ...args]);
  const target = "t:0.0";
  mkdirSync(opts.cwd, { recursive: true });
  const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  await tmux("new-session", "-d", "-s", "t", "-x", String(opts.columns), "-y", String(opts.rows), "-c", opts.cwd, ...env, "env", "PS1=PROMPT$ ", "TERM=xterm-256color", "bash", "--norc", "--noprofile");
  // The window keeps the size given (no client is attached to resize it).
  await tmux("set-option", "-t", "t", "window-size", "manual");
  const screen = async () => (await tmux("capture-pane", "-p", "-t", target)).replace(/\n$/, "").split("\n").map((l) => l.trimEnd());
  const term: Terminal = {
    type: async (text, enter = false) => {
      await tmux("send-keys", "-t", target, "-l", text);
      if (enter) await tmux("send-keys", "-t", target, "Enter");
    },
    keys: async (...names) => {
      await tmux("send-keys", "-t", target, ...names);
    },
    screen,
    pane: async (format) => (await tmux("display-message", "-p", "-t", target, format)).trim(),
    resize: async (columns, rows) => {
      await tmux("resize-window", "-t", "t", "-x", String(columns), "-y", String(rows));
    },
    waitFor: async (test, what, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await screen();
        if (test(s)) return s;
        if (Date.now() > deadline) throw new Error(`terminal: timed out waiting for ${what}; the screen:\n${s.join("\n")}`);
        await Bun.sleep(100);
      }
    },
    close: async () => {
      await tmux("kill-server").catch(() => {});
      rmSync(socket, { force: true });
    },
  };
  await term.waitFor((s) => s.some((l) => l.startsWith("PROMPT$")), "the shell's prompt");
  return term;
}
