/** The platforms ferry ships (src/platform/targets.ts): names, executables, wheels and bindings per target. */
import { expect, test } from "bun:test";
import pins from "../../../scripts/duckdb-extension-pins.json" with { type: "json" };
import { executableName, hostTarget, isTarget, TARGET_NAMES, TARGETS } from "../../../src/platform/targets.ts";

test("the five release platforms, each an <os>-<arch> with its own Bun target", () => {
  expect(TARGET_NAMES).toEqual(["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "windows-x64"]);
  for (const t of TARGET_NAMES) {
    const spec = TARGETS[t];
    expect(t as string).toBe(`${spec.os}-${spec.arch}`);
    expect(spec.bunTarget as string).toBe(`bun-${t}`);
  }
  expect(new Set(TARGET_NAMES.map((t) => TARGETS[t].bindings)).size).toBe(TARGET_NAMES.length);
});

test("executable and library names per operating system", () => {
  expect(TARGET_NAMES.map(executableName)).toEqual(["ferry", "ferry", "ferry", "ferry", "ferry.exe"]);
  expect(TARGET_NAMES.map((t) => TARGETS[t].library)).toEqual(["libduckdb.so", "libduckdb.so", "libduckdb.dylib", "libduckdb.dylib", "duckdb.dll"]);
  expect(TARGETS["windows-x64"].bindings).toBe("win32-x64"); // npm's name for the platform
});

test("hostTarget maps Node's platform and arch names, and knows what is not shipped", () => {
  expect(hostTarget("linux", "x64")).toBe("linux-x64");
  expect(hostTarget("linux", "arm64")).toBe("linux-arm64");
  expect(hostTarget("darwin", "arm64")).toBe("darwin-arm64");
  expect(hostTarget("win32", "x64")).toBe("windows-x64");
  expect(hostTarget("win32", "arm64")).toBeUndefined();
  expect(hostTarget("freebsd", "x64")).toBeUndefined();
  expect(hostTarget("linux", "ia32")).toBeUndefined();
  expect(isTarget("toString")).toBe(false);
});

test("each target's wheel platform tag matches exactly its own pinned wheels", () => {
  for (const [version, byTarget] of Object.entries(pins)) {
    for (const t of TARGET_NAMES) {
      const wheels = Object.values((byTarget as Record<string, Record<string, { wheel: string }>>)[t]!).map((p) => p.wheel);
      expect(wheels).toHaveLength(4);
      for (const wheel of wheels) {
        expect(wheel).toContain(`-${version}-`);
        const tag = wheel.replace(/\.whl$/, "").split("-").at(-1)!;
        expect({ wheel, matches: TARGET_NAMES.filter((other) => TARGETS[other].wheelPlatform.test(tag)) }).toEqual({ wheel, matches: [t] });
      }
    }
  }
});
