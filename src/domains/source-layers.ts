import path from 'node:path';
import type { SluiceConfig } from '../config/schema.js';
import type { BatchHost } from './batch-host.js';

/** Source params as one place states them (flags, item params, environment, config). */
export interface SourceLayerOf<P> {
  params: P | undefined;
  /** Relative `data_dir` resolves against it. */
  baseDir: string;
}

/**
 * The layers' params merged, the first layer that states a field winning it: a source is
 * often half given on the command line and half in the config. A relative `data_dir` is
 * resolved against the directory of the layer that gave it (the working directory for
 * flags, the config file's for the config).
 */
export function mergeSourceLayers<P extends { data_dir?: string }>(layers: readonly SourceLayerOf<P>[]): Partial<P> {
  const out: Partial<Record<keyof P, unknown>> = {};
  for (const { params, baseDir } of layers) {
    if (!params) continue;
    for (const [key, value] of Object.entries(params) as [keyof P, unknown][]) {
      if (key === 'data_dir') {
        if (out.data_dir === undefined && value) out.data_dir = path.resolve(baseDir, value as string);
      } else if (out[key] === undefined || out[key] === null) {
        out[key] = value;
      }
    }
  }
  return out as Partial<P>;
}

/** A batch's source layers in precedence order: its flags, then the environment, then the config. */
export function batchSourceLayers<P>(
  host: BatchHost,
  flags: P | undefined,
  fromEnv: (env: Readonly<Record<string, string | undefined>>) => P | undefined,
  fromConfig: (config: SluiceConfig) => P | undefined,
): SourceLayerOf<P>[] {
  const cwd = process.cwd();
  return [
    { params: flags, baseDir: cwd },
    { params: fromEnv(host.env ?? process.env), baseDir: cwd },
    { params: fromConfig(host.config), baseDir: host.baseDir },
  ];
}
