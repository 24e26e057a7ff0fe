/** The status page's HTML: one self-contained document whose inline style and script its CSP allows by hash. */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { statusPage, statusPageHeaders } from "../../../src/status/page.ts";

const html = statusPage();
const inline = (tag: string) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]!);
const hash = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

describe("status page", () => {
  test("one document: every marker filled, one inline style and one inline script, nothing loaded from elsewhere", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<!-- (csp|style|script) -->/);
    expect(inline("style")).toHaveLength(1);
    expect(inline("script")).toHaveLength(1);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+rel="stylesheet"|@import|url\(\s*['"]?https?:/i);
    // The only absolute URL is the SVG namespace (a name, never fetched).
    expect([...html.matchAll(/https?:\/\/[^\s"'`)]+/g)].map((m) => m[0])).toEqual(["http://www.w3.org/2000/svg"]);
  });

  test("the CSP (meta and header) allows exactly the inline style and script, and only same-origin requests", () => {
    const header = statusPageHeaders()["Content-Security-Policy"]!;
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(meta).toBeDefined();
    for (const csp of [header, meta!]) {
      expect(csp).toContain(`script-src ${hash(inline("script")[0]!)}`);
      expect(csp).toContain(`style-src ${hash(inline("style")[0]!)}`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
    }
    expect(header).toContain("frame-ancestors 'none'"); // a meta tag cannot carry it
    expect(statusPageHeaders()["Content-Type"]).toBe("text/html; charset=utf-8");
  });

  test("the same text every time", () => {
    expect(statusPage()).toBe(html);
  });
});
