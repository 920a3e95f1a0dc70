import { downstreamPartitions, type DependencySpec, type PartitionMapping } from '../core/dependencies.js';
import { partitionKey } from '../core/partition.js';
import type { WorkState } from '../core/states.js';
import type { PipelineRegistry } from '../engine/registry.js';
import type { ServerContext } from './context.js';
import { ApiError } from './errors.js';

/**
 * The pipeline graph (pipelines and their mappings) and one item's place in it: the
 * upstream partitions it needs and the downstream partitions that need it, with states.
 */

export interface GraphEdge {
  from: string;
  to: string;
  mapping: string;
  auto: boolean;
}

/** A mapping in words for the graph: `identity`, `fan_in tier (3)`, `previous week`, `custom`. */
export function mappingLabel(m: PartitionMapping | undefined): string {
  const mapping = m ?? { kind: 'identity' as const };
  const keys = 'keys' in mapping && mapping.keys ? ` on ${mapping.keys.join(',')}` : '';
  switch (mapping.kind) {
    case 'identity':
      return `identity${keys}`;
    case 'fan_in':
      return `fan_in ${mapping.dimension} (${mapping.values.length})${keys}`;
    case 'previous':
      return `previous ${mapping.key}${typeof mapping.step === 'string' ? ` (${mapping.step})` : ''}${keys}`;
    case 'custom':
      return 'custom';
  }
}

export function pipelineGraph(registry: PipelineRegistry): {
  nodes: Array<{ pipeline: string; description: string | null; layer: number }>;
  edges: GraphEdge[];
} {
  const list = registry.list();
  const edges: GraphEdge[] = list.flatMap((p) =>
    (p.definition.dependsOn ?? []).map((d: DependencySpec) => ({ from: d.pipeline, to: p.key, mapping: mappingLabel(d.mapping), auto: d.auto === true })),
  );
  // Layer = longest path from a root; a cycle (refused at enqueue time) stops at the node count.
  const layer = new Map(list.map((p) => [p.key, 0]));
  for (let pass = 0; pass < list.length; pass++) {
    let moved = false;
    for (const e of edges) {
      const want = (layer.get(e.from) ?? 0) + 1;
      if (layer.has(e.to) && want > layer.get(e.to)! && want <= list.length) {
        layer.set(e.to, want);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return { nodes: list.map((p) => ({ pipeline: p.key, description: p.definition.description ?? null, layer: layer.get(p.key) ?? 0 })), edges };
}

export interface LineageEntry {
  pipeline: string;
  partition_key: string;
  mapping: string;
  auto: boolean;
  state: WorkState | null;
  item_id: number | null;
}

/** Downstream partitions of an item: every pipeline depending on its pipeline, through a
 * mapping that can be inverted (identity, fan_in, previous with a fixed step). */
export async function itemLineage({ app }: ServerContext, id: number): Promise<{ upstream: LineageEntry[]; downstream: LineageEntry[] }> {
  const item = await app.store.getItem(id);
  if (!item) throw new ApiError(404, 'not_found', `work item ${id} not found`, 'id', id, 'name an existing work item');
  const key = `${item.domain}.${item.pipeline}`;
  const own = app.registry.has(key) ? app.registry.require(key) : undefined;
  const downstream: LineageEntry[] = [];
  for (const candidate of app.registry.list()) {
    for (const dep of candidate.definition.dependsOn ?? []) {
      if (dep.pipeline !== key) continue;
      for (const p of downstreamPartitions(dep, item.partition)) {
        let pk: string;
        try {
          pk = partitionKey(app.registry.validatePartition(candidate, p));
        } catch {
          continue; // e.g. the previous period of a date the downstream's calendar refuses
        }
        const found = await app.store.findItem(candidate.definition.domain, candidate.definition.name, pk);
        downstream.push({
          pipeline: candidate.key,
          partition_key: pk,
          mapping: mappingLabel(dep.mapping),
          auto: dep.auto === true,
          state: found?.state ?? null,
          item_id: found?.id ?? null,
        });
      }
    }
  }
  const deps = await app.store.listDependencies(id);
  const mappingOf = new Map((own?.definition.dependsOn ?? []).map((d) => [d.pipeline, d]));
  const upstream = deps.map((d) => {
    const spec = mappingOf.get(`${d.domain}.${d.pipeline}`);
    return {
      pipeline: `${d.domain}.${d.pipeline}`,
      partition_key: d.partitionKey,
      mapping: mappingLabel(spec?.mapping),
      auto: spec?.auto === true,
      state: d.state,
      item_id: d.itemId,
    };
  });
  return { upstream, downstream };
}
