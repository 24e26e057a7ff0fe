/**
 * The controlling terminal as one full screen (what `ferry top` draws on): the alternate screen,
 * a hidden cursor, no line wrap, keys read raw (q and Ctrl-C arrive as keys, not signals), the
 * size and its changes. `close()` puts everything back; it also runs when the process exits by
 * another path (an uncaught error, a second signal's process.exit), so the shell gets its
 * terminal back whatever happens. Writes are synchronous: a frame is one write, and the
 * restoring sequence is out before the process ends.
 */
import { writeSync } from "node:fs";

export interface FullScreen {
  columns(): number;
  rows(): number;
  /** Writes `text` to the terminal in one write. */
  write(text: string): void;
  /** Each chunk of keys typed (raw: "q", "\x03" for Ctrl-C, "\x1b[A" for ↑). */
  onKeys(listener: (keys: string) => void): void;
  onResize(listener: () => void): void;
  /** Leaves the alternate screen, shows the cursor, gives the keyboard back. Idempotent. */
  close(): void;
}

const ENTER = "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H\x1b[2J";
const LEAVE = "\x1b[?7h\x1b[?25h\x1b[?1049l";

/** Whether both ends are a terminal: keys can be read and a screen drawn. */
export const isInteractiveTerminal = () => Boolean(process.stdout.isTTY && process.stdin.isTTY);

function writeAll(text: string): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at);
    } catch (e) {
      // A non-blocking terminal that is momentarily full: try again.
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
  }
}

export function openFullScreen(): FullScreen {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const keyListeners: ((keys: string) => void)[] = [];
  const resizeListeners: (() => void)[] = [];
  const onData = (chunk: Buffer | string) => {
    const keys = chunk.toString();
    for (const l of keyListeners) l(keys);
  };
  const onResize = () => {
    for (const l of resizeListeners) l();
  };
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    stdin.off("data", onData);
    stdout.off("resize", onResize);
    process.off("exit", close);
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal is gone (hung up): nothing to restore on it
    }
    stdin.pause();
    try {
      writeAll(LEAVE);
    } catch {
      // idem
    }
  };
  process.on("exit", close);
  stdin.setRawMode(true);
  stdin.on("data", onData);
  stdin.resume();
  stdout.on("resize", onResize);
  writeAll(ENTER);
  return {
    columns: () => stdout.columns || 80,
    rows: () => stdout.rows || 24,
    write: (text) => open && writeAll(text),
    onKeys: (l) => keyListeners.push(l),
    onResize: (l) => resizeListeners.push(l),
    close,
  };
}
