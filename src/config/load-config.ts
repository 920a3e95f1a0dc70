import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../core/errors.js';
import { zodToValidation } from '../core/zod-rule.js';
import type { PipelineDefinition } from '../core/pipeline.js';
import { CODE_EXTENSIONS, importUserModule, isPipelineDefinition, pipelinesExportedBy } from './load-module.js';
import { configSchema, type SluiceConfig } from './schema.js';
import { isTurboModeConfig } from './turbomode/detect.js';
import type { TurboModeInfo } from './turbomode/translate.js';

export const BUNDLED_DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.config.json', import.meta.url));

export interface LoadedConfig {
  config: SluiceConfig;
  /** The file it came from, for messages; `null` for an in-memory config. */
  file: string | null;
  /** Directory relative paths in the config (sqlite path, command cwd) resolve against. */
  baseDir: string;
  /** Pipelines defined in code: `definePipeline` objects listed in a TS/JS config's
   * `pipelines`, and every pipeline exported by the files named in `modules`. */
  codePipelines?: PipelineDefinition[];
  /** For each `config.pipelines[i]`, its index in the file (code pipelines sit between). */
  pipelineIndex?: number[];
  /** Set when the file is a TurboMode scheduler_config.json (translated into `config`). */
  turbomode?: TurboModeInfo;
}

/**
 * A config is parsed once per process: zod's eval-compiled fast path for each object schema
 * (built on first parse, worth it for schemas parsed thousands of times) would cost more
 * than the parse. `jitless` is zod's per-call switch for the plain path: same result, same
 * issues, nothing global changed for other schemas.
 */
const ONE_PARSE = { jitless: true } as const;

/** Config file names looked for in the working directory, in this order. */
export const DEFAULT_CONFIG_NAMES = [
  'sluice.config.json',
  'sluice.config.yaml',
  'sluice.config.yml',
  'sluice.config.ts',
  'sluice.config.mts',
  'sluice.config.js',
  'sluice.config.mjs',
];

/**
 * Finds and validates the config: `--config FILE`, else `./sluice.config.{json,yaml,yml,ts}`,
 * else the bundled demo config. Any problem is a ValidationError naming the file, the JSON
 * path inside it and the rule, raised before anything touches the database.
 */
export async function loadConfig(explicit?: string, cwd = process.cwd()): Promise<LoadedConfig> {
  const file = explicit ? path.resolve(cwd, explicit) : findDefault(cwd);
  if (!existsSync(file)) throw new ValidationError('--config', explicit ?? file, 'name an existing config file');
  let raw = await readRaw(file);
  // TurboMode's scheduler_config.json loads as written: translated into Sluice's own config.
  // Its schemas and translator are loaded only for such a file.
  const turbo = isTurboModeConfig(raw) ? (await import('./turbomode/translate.js')).translateTurboMode(raw, file) : undefined;
  if (turbo) raw = turbo.settings;
  const { settings, code, indexOf } = splitCodePipelines(raw);
  const parsed = configSchema.safeParse(settings, ONE_PARSE);
  if (!parsed.success) {
    // Paths must point into the file as written, where code pipelines still sit in the list.
    for (const issue of parsed.error.issues) {
      if (issue.path[0] === 'pipelines' && typeof issue.path[1] === 'number') issue.path[1] = indexOf[issue.path[1]] ?? issue.path[1];
    }
    throw zodToValidation(parsed.error, '', raw, file);
  }
  // The bundled demo keeps its data next to where the user runs it, not inside node_modules.
  const baseDir = file === BUNDLED_DEMO_CONFIG ? cwd : path.dirname(file);
  const codePipelines = [...code];
  for (const [i, entry] of (parsed.data.modules ?? []).entries()) {
    const moduleFile = path.resolve(path.dirname(file), entry);
    const field = `modules[${i}]`;
    if (!existsSync(moduleFile)) throw new ValidationError(field, entry, 'name an existing file (relative to the config file)', file);
    if (!CODE_EXTENSIONS.has(path.extname(moduleFile).toLowerCase()))
      throw new ValidationError(field, entry, 'be a .ts, .mts, .cts, .js, .mjs or .cjs file', file);
    const found = pipelinesExportedBy(await importUserModule(moduleFile, field));
    if (found.length === 0) throw new ValidationError(field, entry, 'export at least one pipeline made with definePipeline', file);
    codePipelines.push(...found);
  }
  return { config: parsed.data, file, baseDir, codePipelines, pipelineIndex: indexOf, ...(turbo ? { turbomode: turbo.info } : {}) };
}

/** Takes `definePipeline` objects out of `pipelines[]` (zod checks the JSON settings only),
 * remembering where each remaining entry sat in the file. */
function splitCodePipelines(raw: unknown): { settings: unknown; code: PipelineDefinition[]; indexOf: number[] } {
  const list = (raw as { pipelines?: unknown } | null)?.pipelines;
  if (!raw || typeof raw !== 'object' || !Array.isArray(list)) return { settings: raw, code: [], indexOf: [] };
  const code: PipelineDefinition[] = [];
  const rest: unknown[] = [];
  const indexOf: number[] = [];
  list.forEach((entry, i) => {
    if (isPipelineDefinition(entry)) code.push(entry);
    else {
      rest.push(entry);
      indexOf.push(i);
    }
  });
  return { settings: { ...(raw as object), pipelines: rest }, code, indexOf };
}

export function parseConfigObject(raw: unknown, source = '<inline config>'): SluiceConfig {
  const parsed = configSchema.safeParse(raw, ONE_PARSE);
  if (!parsed.success) throw zodToValidation(parsed.error, '', raw, source);
  return parsed.data;
}

function findDefault(cwd: string): string {
  for (const name of DEFAULT_CONFIG_NAMES) {
    const candidate = path.join(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return BUNDLED_DEMO_CONFIG;
}

async function readRaw(file: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  if (CODE_EXTENSIONS.has(ext)) {
    const mod = await importUserModule(file, '(file)');
    if (mod.default === undefined) throw new ValidationError('default export', undefined, 'export the config object as default', file);
    return mod.default;
  }
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new ValidationError('--config', path.basename(file), 'end in .json, .yaml, .yml, .ts, .mts, .cts, .js, .mjs or .cjs', file);
  }
  const text = readFileSync(file, 'utf8');
  // yaml is ~70 CommonJS files: loaded only for a YAML config, not on every command.
  const YAML = ext === '.json' ? undefined : (await import('yaml')).default;
  try {
    return YAML ? YAML.parse(text) : JSON.parse(text);
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
