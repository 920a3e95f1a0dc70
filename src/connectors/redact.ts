/**
 * Secrets (API keys) must never reach a log line or an error message. Every string a source
 * puts in either goes through `redact`, which replaces each secret, in plain and in
 * URL-encoded form, with `***`.
 */
export const REDACTED = '***';

export function redact(text: string, secrets: readonly (string | undefined | null)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, '+')])) {
      out = out.split(form).join(REDACTED);
    }
  }
  return out;
}
