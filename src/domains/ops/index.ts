import type { PipelineDefinition } from '../../core/pipeline.js';
import { fail } from './fail.js';
import { maintenance } from './maintenance.js';
import { noop } from './noop.js';
import { sleep } from './sleep.js';

export { commandPipeline } from './command-pipeline.js';

/**
 * The built-in `ops` domain: always registered. There is deliberately no built-in that runs
 * a program named in params (the old `ops.command`): programs come only from the config's
 * `pipelines[].command`.
 */
export function opsPipelines(): PipelineDefinition[] {
  return [noop, sleep, fail, maintenance];
}
