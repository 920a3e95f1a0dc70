import { ValidationError } from './errors.js';
import type { Partition } from './partition.js';

/**
 * How a downstream partition maps to the upstream partitions it needs.
 *
 *   identity             the same partition, projected onto the upstream's keys
 *                        (normalize_week@{week,tier} needs ingest_week@{week,tier};
 *                        a {date} job needing a {date,…} source must use fan_in instead)
 *   fan_in               every value of one dimension: compute_hhi@{week} needs
 *                        normalize_week@{week, tier} for tier in [NMS_TIER_1, NMS_TIER_2, OTC]
 *   previous             the previous period of one key (a rolling window needs last week):
 *                        `week` steps 7 days, `day` 1 day, or a calendar's previous session
 *   (function)           anything else, in code
 *
 * `keys` optionally restricts which downstream keys carry over (projection), e.g. a
 * {date, symbol} feature build depending on a {date} FRED bucket uses keys: ['date'].
 */
export type PartitionMapping =
  | { kind: 'identity'; keys?: readonly string[] }
  | { kind: 'fan_in'; dimension: string; values: readonly string[]; keys?: readonly string[] }
  | { kind: 'previous'; key: string; step: 'day' | 'week' | ((date: string) => string); keys?: readonly string[] }
  | { kind: 'custom'; map: (partition: Partition) => Partition[] };

export interface DependencySpec {
  /** Upstream pipeline, `domain.name`. */
  pipeline: string;
  mapping?: PartitionMapping;
  /** Enqueue this downstream (WAITING) whenever the upstream is enqueued, so it runs as soon
   * as its inputs are in without anyone enqueueing it by hand. */
  auto?: boolean;
}

export function upstreamPartitions(dep: DependencySpec, downstream: Partition): Partition[] {
  const mapping = dep.mapping ?? { kind: 'identity' };
  switch (mapping.kind) {
    case 'identity':
      return [project(downstream, mapping.keys)];
    case 'fan_in':
      return mapping.values.map((v) => ({ ...project(downstream, mapping.keys), [mapping.dimension]: v }));
    case 'previous': {
      const value = downstream[mapping.key];
      if (value === undefined) throw new ValidationError(`partition.${mapping.key}`, undefined, `be present: ${dep.pipeline} depends on its previous period`);
      const prev = typeof mapping.step === 'function' ? mapping.step(value) : shiftDate(value, mapping.step === 'week' ? -7 : -1);
      return [{ ...project(downstream, mapping.keys), [mapping.key]: prev }];
    }
    case 'custom':
      return mapping.map(downstream);
  }
}

/** The reverse question, for `auto` dependencies: which downstream partitions does an
 * upstream partition feed? Only mappings that can be inverted without extra knowledge. */
export function downstreamPartitions(dep: DependencySpec, upstream: Partition): Partition[] {
  const mapping = dep.mapping ?? { kind: 'identity' };
  switch (mapping.kind) {
    case 'identity':
      return [project(upstream, mapping.keys)];
    case 'fan_in': {
      const { [mapping.dimension]: _dropped, ...rest } = upstream;
      return [project(rest, mapping.keys)];
    }
    case 'previous': {
      const value = upstream[mapping.key];
      if (value === undefined || typeof mapping.step === 'function') return [];
      return [{ ...project(upstream, mapping.keys), [mapping.key]: shiftDate(value, mapping.step === 'week' ? 7 : 1) }];
    }
    case 'custom':
      return [];
  }
}

function project(partition: Partition, keys?: readonly string[]): Record<string, string> {
  if (!keys) return { ...partition };
  const out: Record<string, string> = {};
  for (const k of keys) if (partition[k] !== undefined) out[k] = partition[k]!;
  return out;
}

function shiftDate(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) throw new ValidationError('partition date', date, 'be a date YYYY-MM-DD');
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
