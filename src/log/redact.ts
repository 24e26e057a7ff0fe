/** Secrets inside text (error messages, option values) masked before they are shown or logged. */

/**
 * DuckDB's messages may quote a connection string with its password (the postgres extension does,
 * when it cannot reach a catalog's server): every `password=…` is shown as `password=***`.
 */
export const redactSecrets = (text: string) => text.replace(/\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)/gi, "$1***");

/** A URL's password (`scheme://user:password@host`) shown as `***`. */
export const redactUrlPassword = (text: string) => text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*):[^@/\s]*@/gi, "$1:***@");
