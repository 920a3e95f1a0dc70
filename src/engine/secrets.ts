import { redact } from '../connectors/redact.js';

/** Environment variables whose values are secrets: the API token and anything named like a key. */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY)($|_)/i;

/** Values shorter than this are not treated as secrets (redacting "1" would mangle output). */
const MIN_SECRET_LENGTH = 8;

/** The secret values in `env`, longest first (so a secret containing another is replaced whole). */
export function secretsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name)) out.add(value);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * Replaces every secret of the environment in `text` with `***`. The worker passes attempt
 * errors and output tails through it before they are stored, since a script can print its
 * own environment or a URL with a key in it, and stored attempts are shown by the API and
 * the dashboard.
 */
export function redactSecrets(text: string, env?: Readonly<Record<string, string | undefined>>): string;
export function redactSecrets(text: string | null | undefined, env?: Readonly<Record<string, string | undefined>>): string | null | undefined;
export function redactSecrets(text: string | null | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string | null | undefined {
  if (!text) return text;
  return redact(text, secretsFromEnv(env));
}
