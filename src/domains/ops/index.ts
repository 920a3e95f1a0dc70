import type { PipelineDefinition } from '../../core/pipeline.js';
import type { Store } from '../../store/store.js';
import { command } from './command.js';
import { fail } from './fail.js';
import { maintenance } from './maintenance.js';
import { noop } from './noop.js';
import { sleep } from './sleep.js';

export { commandPipeline } from './command.js';

/** The built-in `ops` domain: always registered. */
export function opsPipelines(store: Store): PipelineDefinition[] {
  return [noop, sleep, fail, command, maintenance(store)];
}
