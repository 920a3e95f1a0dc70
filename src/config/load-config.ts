import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { ValidationError } from '../core/errors.js';
import { zodToValidation } from '../engine/registry.js';
import { configSchema, type SluiceConfig } from './schema.js';

export const BUNDLED_DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.config.json', import.meta.url));

export interface LoadedConfig {
  config: SluiceConfig;
  /** The file it came from, for messages; `null` for an in-memory config. */
  file: string | null;
  /** Directory relative paths in the config (sqlite path, command cwd) resolve against. */
  baseDir: string;
}

/**
 * Finds and validates the config: `--config FILE`, else `./sluice.config.{json,yaml,yml,ts}`,
 * else the bundled demo config. Any problem is a ValidationError naming the file, the JSON
 * path inside it and the rule, raised before anything touches the database.
 */
export async function loadConfig(explicit?: string, cwd = process.cwd()): Promise<LoadedConfig> {
  const file = explicit ? path.resolve(cwd, explicit) : findDefault(cwd);
  if (!existsSync(file)) throw new ValidationError('--config', explicit ?? file, 'name an existing config file');
  const raw = await readRaw(file);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw zodToValidation(parsed.error, '', raw, file);
  // The bundled demo keeps its data next to where the user runs it, not inside node_modules.
  const baseDir = file === BUNDLED_DEMO_CONFIG ? cwd : path.dirname(file);
  return { config: parsed.data, file, baseDir };
}

export function parseConfigObject(raw: unknown, source = '<inline config>'): SluiceConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw zodToValidation(parsed.error, '', raw, source);
  return parsed.data;
}

function findDefault(cwd: string): string {
  for (const name of ['sluice.config.json', 'sluice.config.yaml', 'sluice.config.yml', 'sluice.config.ts']) {
    const candidate = path.join(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return BUNDLED_DEMO_CONFIG;
}

async function readRaw(file: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.ts' || ext === '.js' || ext === '.mjs') {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    if (mod.default === undefined) throw new ValidationError('default export', undefined, 'export the config object as default', file);
    return mod.default;
  }
  const text = readFileSync(file, 'utf8');
  try {
    return ext === '.yaml' || ext === '.yml' ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ValidationError('(file)', path.basename(file), `be valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${detail}`, file);
  }
}

/** `sqlite:./x.db` relative to the config's directory; `SLUICE_DATABASE_URL` wins. */
export function resolveDatabaseUrl(loaded: LoadedConfig, override?: string): string {
  const url = override ?? process.env.SLUICE_DATABASE_URL ?? loaded.config.database;
  if (url.startsWith('sqlite:')) {
    const p = url.slice('sqlite:'.length);
    if (p === ':memory:') return url;
    return `sqlite:${path.resolve(loaded.baseDir, p)}`;
  }
  if (/^postgres(ql)?:\/\//.test(url)) return url;
  throw new ValidationError('database', url, 'be sqlite:PATH or a postgres:// URL');
}
