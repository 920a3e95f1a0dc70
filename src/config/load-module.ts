import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError } from '../core/errors.js';
import type { PipelineDefinition } from '../core/pipeline.js';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);
export const CODE_EXTENSIONS = new Set([...TS_EXTENSIONS, '.js', '.mjs', '.cjs']);

/**
 * Imports a config or pipeline module from the user's project. TypeScript goes through
 * tsx's scoped `tsImport`, loaded only now, so the compiled CLI pays for a TypeScript
 * loader only when a `.ts` file is given. `tsImport` honours the file's own module kind
 * (a `.ts` in a folder without `"type": "module"` is CommonJS), so a config works in any
 * folder; the global `register()` hook used before made such a config crash with
 * ERR_REQUIRE_CYCLE_MODULE.
 */
export async function importUserModule(file: string, field: string): Promise<Record<string, unknown>> {
  const ext = path.extname(file).toLowerCase();
  const url = pathToFileURL(file).href;
  try {
    if (TS_EXTENSIONS.has(ext)) {
      const { tsImport } = await import('tsx/esm/api');
      return unwrapCommonJs((await tsImport(url, import.meta.url)) as Record<string, unknown>);
    }
    return unwrapCommonJs((await import(url)) as Record<string, unknown>);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const e = err as { code?: string; message?: string };
    const detail = (e?.message ?? String(err)).split('\n')[0];
    throw new ValidationError(field, path.basename(file), `load as a module (${e?.code ? `${e.code}: ` : ''}${detail})`, file);
  }
}

/** An ESM file that tsx compiled to CommonJS (a `.ts` outside a `"type": "module"` folder)
 * arrives as `{ default: module.exports }` with its own exports, `default` included, one
 * level down and marked `__esModule`. Returns the module's own exports either way. */
function unwrapCommonJs(mod: Record<string, unknown>): Record<string, unknown> {
  const inner = mod.default as Record<string, unknown> | undefined;
  return inner && typeof inner === 'object' && inner.__esModule === true ? inner : mod;
}

export function isPipelineDefinition(value: unknown): value is PipelineDefinition {
  const v = value as Partial<PipelineDefinition> | null;
  return !!v && typeof v === 'object' && typeof v.handler === 'function' && typeof v.domain === 'string' && typeof v.name === 'string';
}

/** Every pipeline a module exports: named exports and the default export, each either one
 * `definePipeline` object or an array of them. */
export function pipelinesExportedBy(mod: Record<string, unknown>): PipelineDefinition[] {
  const out: PipelineDefinition[] = [];
  for (const value of Object.values(mod)) {
    for (const v of Array.isArray(value) ? value : [value]) if (isPipelineDefinition(v) && !out.includes(v)) out.push(v);
  }
  return out;
}
