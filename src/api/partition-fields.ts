import type { RegisteredPipeline } from '../engine/registry.js';

/** A partition key of a pipeline as a form field: its name and, for an enum, its values. */
export interface PartitionField {
  key: string;
  values: string[] | null;
  optional: boolean;
}

interface ZodLike {
  shape?: Record<string, ZodLike>;
  options?: unknown[];
  def?: { type?: string; innerType?: ZodLike };
}

/**
 * The fields of a pipeline's partition schema, for the "Run now" form. Read from the zod
 * object's shape; a schema that is not a plain object (a union, a transform) yields no
 * fields and the form takes the key text instead.
 */
export function partitionFields(pipeline: RegisteredPipeline): PartitionField[] | null {
  const schema = pipeline.definition.partition as unknown as ZodLike | undefined;
  if (!schema) return [];
  if (!schema.shape || typeof schema.shape !== 'object') return null;
  return Object.entries(schema.shape).map(([key, field]) => {
    let inner: ZodLike = field;
    let optional = false;
    while ((inner.def?.type === 'optional' || inner.def?.type === 'default' || inner.def?.type === 'nullable') && inner.def.innerType) {
      optional = true;
      inner = inner.def.innerType;
    }
    const values = inner.def?.type === 'enum' && Array.isArray(inner.options) ? inner.options.map(String) : null;
    return { key, values, optional };
  });
}
