/** An error as the status shows it: one line, secrets (password=…, a URL's password) masked, at most MAX characters. */
import { errorMessage } from "../errors.ts";
import { redactSecrets, redactUrlPassword } from "../log/redact.ts";

const MAX = 300;

export function oneLine(e: unknown): string {
  const text = redactUrlPassword(redactSecrets(errorMessage(e)))
    .replace(/\s*\n[\s\S]*$/, "")
    .trim();
  return text.length > MAX ? `${text.slice(0, MAX - 1)}…` : text;
}
