/**
 * A real browser for tests: Debian's chromium (installed by scripts/chromium when missing),
 * driven by playwright-core, which never downloads a browser of its own here. Each launch has a
 * fresh profile folder, removed at close. `watch(page)` gathers what the page logged as an error
 * (console errors, uncaught exceptions, failed requests); `axe(page)` runs axe-core in it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

const ROOT = resolve(import.meta.dir, "../..");

/** The flags the project runs chromium with (headless is added by playwright-core). */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Installs chromium when missing (scripts/chromium: apt-get, output in a log file) and gives its path. */
export function chromiumPath(): string {
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/chromium")], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`scripts/chromium failed:\n${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark" } = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), "ferry-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: opts.viewport ?? { width: 1200, height: 900 },
    colorScheme: opts.colorScheme ?? "light",
    reducedMotion: "reduce",
    timezoneId: "UTC",
    locale: "en-US",
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Errors a page showed: console errors (the browser logs a 4xx/5xx answer as one), uncaught
 * exceptions, failed requests, and any request beyond the page's own origin (the page must work
 * offline: no CDN, no font or script from elsewhere).
 */
export function watch(page: Page): { errors: string[] } {
  const errors: string[] = [];
  page.on("request", (r) => {
    const url = r.url();
    if (url.startsWith("data:")) return;
    const origin = new URL(page.url() === "about:blank" ? url : page.url()).origin;
    if (new URL(url).origin !== origin) errors.push(`request beyond the page's origin: ${url}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => {
    // An event stream the page itself closes (a reconnect, the page going away) ends as aborted.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return { errors };
}

const AXE_SOURCE = readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

/** axe-core's WCAG 2.x A/AA and best-practice rules over the page as it is now. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  // Strings, not functions: this project's TypeScript has no DOM types.
  const run = `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(AXE_TAGS)} } }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) })))`;
  return (await page.evaluate(run)) as AxeViolation[];
}

/** Whether the page scrolls sideways (content wider than the viewport). */
export async function scrollsSideways(page: Page): Promise<{ scrollWidth: number; clientWidth: number } | null> {
  const w = (await page.evaluate("({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })")) as { scrollWidth: number; clientWidth: number };
  return w.scrollWidth > w.clientWidth ? w : null;
}
