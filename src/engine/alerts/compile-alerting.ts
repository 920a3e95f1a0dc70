import type { SluiceConfig } from '../../config/schema.js';
import { ValidationError } from '../../core/errors.js';
import type { PipelineRegistry } from '../registry.js';
import { compileDeadlines, type DeadlineRule } from './deadline-rules.js';

// Apart from service.ts so that every command can check the alerts config (createApp does)
// without loading the dispatcher, the webhook sender, the sweeper and the alert stores,
// which only `sluice start` runs.

/** Checks the alerts and deadline config against the registry; errors name the field. */
export function compileAlerting(config: SluiceConfig, registry: PipelineRegistry, source?: string): { deadlines: DeadlineRule[] } {
  const names = new Set<string>();
  config.alerts.forEach((a, i) => {
    if (names.has(a.name)) throw new ValidationError(`alerts[${i}].name`, a.name, 'be unique among alerts', source);
    names.add(a.name);
    a.pipelines?.forEach((p, j) => {
      if (!registry.has(p)) throw new ValidationError(`alerts[${i}].pipelines[${j}]`, p, 'name a registered pipeline (domain.name)', source);
    });
  });
  return { deadlines: compileDeadlines(config, registry, source) };
}
