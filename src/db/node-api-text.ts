/**
 * The one patch of @duckdb/node-api's text reading (pinned at 1.5.5-r.5; its test,
 * test/unit/db/node-api-text.test.ts, fails if the module changes): every VARCHAR it reads is
 * decoded by one shared `TextDecoder()`, whose default drops a leading U+FEFF (a byte-order mark) —
 * a product "\uFEFFtea" is stored whole but read back as "tea" by `ferry query`. Replaced by a
 * decoder that keeps it. (The library reads the decoder from its exports at each call.)
 */
let patched = false;

/** Makes VARCHARs read back exactly as stored (once per process; after the native library is loaded: the module loads the bindings). */
export async function keepByteOrderMarks(): Promise<void> {
  if (patched) return;
  // The module's exports object itself (CommonJS), the one the library reads; imported by a literal path so the binary carries it.
  const { default: accessors } = (await import("@duckdb/node-api/lib/vectors/dataAccessors.js")) as unknown as { default: { textDecoder?: TextDecoder } };
  if (!(accessors.textDecoder instanceof TextDecoder)) throw new Error("@duckdb/node-api changed: lib/vectors/dataAccessors.js has no textDecoder to replace (see src/db/node-api-text.ts)");
  accessors.textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
  patched = true;
}
