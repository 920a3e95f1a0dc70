import type { z } from 'zod';
import type { PipelineDefinition } from '../core/pipeline.js';
import type { pipelineConfigSchema, SluiceConfigInput } from './schema.js';

/** One `pipelines[]` entry in a TS/JS config: JSON-style settings (a command pipeline, or
 * tuning for a pipeline defined in code) or a pipeline defined with `definePipeline`. */
export type ConfigPipelineEntry = z.input<typeof pipelineConfigSchema> | PipelineDefinition;

/** The default export of `sluice.config.ts`: the JSON config, whose `pipelines` may also
 * hold `definePipeline` objects. */
export type UserConfig = Omit<SluiceConfigInput, 'pipelines'> & { pipelines?: ConfigPipelineEntry[] };

/** Identity helper that type-checks a `sluice.config.ts` default export. */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
