/** `ferry top URL`: another ferry's live status in the terminal, redrawn in place from its /status.json. */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { duration, str } from "../config/fields.ts";
import { readConfigFile, secretOf } from "../config/files.ts";
import { DownstreamError } from "../errors.ts";
import { type FullScreen, isInteractiveTerminal, openFullScreen } from "../platform/full-screen.ts";
import { readStatus, shownUrl, type StatusSource, statusUrlOf } from "../status/remote-status.ts";
import { renderText, renderTop, type TopView } from "../status/terminal.ts";
import { paint } from "../status/terminal-text.ts";
import { VERSION } from "../version.ts";
import { defineMode, type ModeContext } from "./mode.ts";

/** How long one reading may take before it counts as unreachable. */
const READ_TIMEOUT_MS = 5000;

export type KeyAction = "quit" | "up" | "down" | "pageUp" | "pageDown" | "top" | "bottom";

const KEYS: Record<string, KeyAction> = {
  q: "quit", Q: "quit", "\x03": "quit", "\x04": "quit", "\x1b": "quit",
  k: "up", "\x1b[A": "up", "\x1bOA": "up",
  j: "down", "\x1b[B": "down", "\x1bOB": "down",
  "\x1b[5~": "pageUp", b: "pageUp",
  "\x1b[6~": "pageDown", " ": "pageDown",
  g: "top", "\x1b[H": "top", "\x1bOH": "top", "\x1b[1~": "top",
  G: "bottom", "\x1b[F": "bottom", "\x1bOF": "bottom", "\x1b[4~": "bottom",
};

/** The actions in a chunk of raw keys (several keys can arrive at once; unknown ones are skipped). */
export function keyActions(chunk: string): KeyAction[] {
  const out: KeyAction[] = [];
  for (let i = 0; i < chunk.length; ) {
    // An escape sequence: ESC [ params final, or ESC O letter; a lone ESC at the end is the Esc key.
    const seq = /^\x1b(\[[0-9;]*[~A-Za-z]|O[A-Za-z])/.exec(chunk.slice(i))?.[0] ?? chunk[i]!;
    const action = KEYS[seq];
    if (action && (seq !== "\x1b" || i === chunk.length - 1)) out.push(action);
    i += seq.length;
  }
  return out;
}

export const topMode = defineMode({
  name: "top",
  summary: "Another ferry's live status in the terminal (records/s, requests, lag, dependencies)",
  details:
    "Reads URL/status.json (a `ferry run`, `serve` or `sink` listener, or the --metrics-port of\n" +
    "`export`/`generate`) every --refresh and redraws in place. Keys: q or Ctrl-C quits, ↑/↓ (j/k),\n" +
    "PgUp/PgDn, Home/End (g/G) scroll. When the server cannot be reached it says so and keeps trying.\n" +
    "Off a terminal (stdin, stdout or stderr not one) it prints one reading as text and exits (1 if it\n" +
    "could not read).",
  positional: { key: "url", name: "URL" },
  config: v.object({
    url: v.optional(str({ doc: "The ferry to watch: its HTTP listener.", placeholder: "URL", pattern: /^https?:\/\//, patternHint: "must start with http:// or https://" }), "http://127.0.0.1:8080"),
    authToken: v.optional(
      str({ doc: "Bearer token the server wants. A flag shows in /proc to every local user: prefer FERRY_AUTH_TOKEN or --auth-token-file.", placeholder: "TOKEN", min: 1, secret: true }),
    ),
    authTokenFile: v.optional(str({ doc: "File holding the bearer token (one line); instead of --auth-token.", placeholder: "FILE", min: 1 })),
    tlsCert: v.optional(str({ doc: "PEM certificate (or CA) to trust for an https:// URL, besides the system's.", placeholder: "FILE", min: 1 })),
    refresh: v.optional(duration({ doc: "How often to read the status.", min: 200 }), 1000),
    ...logLevelField,
  }),
  async run(config, ctx) {
    const token = secretOf(config.authToken, config.authTokenFile, "auth-token");
    const source: StatusSource = {
      url: statusUrlOf(config.url),
      token,
      init: config.tlsCert ? { tls: { ca: readConfigFile(config.tlsCert, "tls-cert") } } : undefined,
      userAgent: `ferry-top/${VERSION}`,
    };
    const shown = shownUrl(config.url);
    if (!ctx.isTerminal || !isInteractiveTerminal()) return once(source, shown, ctx);
    const screen = openFullScreen();
    try {
      await watch(source, shown, config.refresh, screen, ctx.signal);
    } finally {
      screen.close();
    }
    return 0;
  },
});

/** Not on a terminal: one reading, printed as plain text 80 columns wide. */
async function once(source: StatusSource, shown: string, ctx: ModeContext): Promise<number> {
  const reading = await readStatus(source, AbortSignal.any([ctx.signal, AbortSignal.timeout(READ_TIMEOUT_MS)]));
  if (!reading.ok) throw new DownstreamError("top", reading.message);
  const now = Date.now();
  ctx.out(`${renderText({ url: shown, snapshot: reading.snapshot, receivedAt: now, now }, 80).join("\n")}\n`);
  return 0;
}

/** Reads every `intervalMs` and redraws (and once a second, for the ages shown) until quit or `signal`. */
async function watch(source: StatusSource, shown: string, intervalMs: number, screen: FullScreen, signal: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const quit = () => stop.abort();
  signal.addEventListener("abort", quit, { once: true });
  const view: TopView = { url: shown, now: Date.now(), scroll: 0 };
  let shownLines: string[] | undefined;
  let maxScroll = 0;
  const redraw = () => {
    if (stop.signal.aborted) return;
    const frame = renderTop({ ...view, now: Date.now() }, screen.columns(), screen.rows());
    maxScroll = frame.maxScroll;
    view.scroll = Math.min(view.scroll ?? 0, maxScroll);
    screen.write(paint(shownLines, frame.lines));
    shownLines = frame.lines;
  };
  screen.onResize(() => {
    shownLines = undefined; // the terminal may have reflowed: draw it all
    redraw();
  });
  screen.onKeys((keys) => {
    const page = Math.max(1, screen.rows() - 4);
    for (const action of keyActions(keys)) {
      if (action === "quit") return quit();
      const at = view.scroll ?? 0;
      const to = { up: at - 1, down: at + 1, pageUp: at - page, pageDown: at + page, top: 0, bottom: maxScroll }[action];
      view.scroll = Math.max(0, Math.min(maxScroll, to));
    }
    redraw();
  });
  redraw();
  const ticker = setInterval(redraw, 1000);
  try {
    while (!stop.signal.aborted) {
      const started = Date.now();
      const reading = await readStatus(source, AbortSignal.any([stop.signal, AbortSignal.timeout(READ_TIMEOUT_MS)]));
      if (stop.signal.aborted) break;
      if (reading.ok) {
        view.snapshot = reading.snapshot;
        view.receivedAt = Date.now();
        view.problem = undefined;
      } else {
        const p = view.problem;
        view.problem = { message: reading.message, since: p?.since ?? started, tries: (p?.tries ?? 0) + 1 };
      }
      redraw();
      await sleepUnless(stop.signal, Math.max(0, started + intervalMs - Date.now()));
    }
  } finally {
    clearInterval(ticker);
    signal.removeEventListener("abort", quit);
  }
}

function sleepUnless(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
