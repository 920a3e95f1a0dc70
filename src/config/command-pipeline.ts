import { z } from 'zod';

/**
 * The config shape of a command pipeline (a `pipelines[]` entry with `command`).
 *
 * Security rule: what a command pipeline runs comes only from this file. `command` is the
 * program and its arguments, fixed here; nothing a caller sends (API body, `sluice enqueue`
 * params, a schedule's or a backfill's partitions) can name a program, add arguments that
 * form one, or choose the working directory or environment. A caller can only supply
 * VALUES, and only where the config asks for them:
 *
 * - `partition` declares the partition keys and the kind of value each takes; a partition
 *   must then have exactly these keys. Without it, any flat partition is accepted (it reaches
 *   the program only as `SLUICE_PARTITION*` environment variables).
 * - `params` declares the params keys and their kinds; any other params key is refused.
 *   Without it, params must be empty.
 * - An argv entry that is exactly `{key}` is a placeholder: it is replaced by the value of
 *   that partition or params key, as one whole argv entry (never through a shell, never
 *   split). The key must be declared in `partition` or `params` (else a config error naming
 *   the entry). `{{key}}` stands for the literal text `{key}`. Braces inside a longer entry
 *   (`sh -c 'echo ${X}'`) are plain text. The program (`command[0]`) cannot be a placeholder.
 *
 * Value kinds (what a caller's value must be): `date` (YYYY-MM-DD), `week_ending` (a Friday
 * YYYY-MM-DD), `session` (an XNYS trading day), `integer` (digits, optional leading minus),
 * `text` (1–200 printable characters, not starting with `-`, without `/`, `\` or `..`, so it
 * cannot pose as an option or a path), `{ "enum": [...] }` (one of the listed values), or
 * `{ "pattern": "^[A-Z]{1,5}$" }` (a full match of the regular expression).
 */
export const VALUE_KINDS = ['date', 'week_ending', 'session', 'integer', 'text'] as const;

export const valueKindSchema = z.union([
  z.enum(VALUE_KINDS, { message: `must be one of ${VALUE_KINDS.join(', ')}, {"enum": [...]} or {"pattern": "regex"}` }),
  z.strictObject({ enum: z.array(z.string().min(1)).min(1, 'must list at least one value') }),
  z.strictObject({
    pattern: z.string().refine(
      (p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'must be a valid regular expression' },
    ),
  }),
]);
export type ValueKind = z.infer<typeof valueKindSchema>;

const declaredKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be letters, digits and _ (not starting with a digit)');
export const valueDeclarationsSchema = z.record(declaredKey, valueKindSchema);

/** `{key}` exactly (a placeholder); `{{key}}` is its literal escape. */
export const PLACEHOLDER_RE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
export const ESCAPED_PLACEHOLDER_RE = /^\{(\{[A-Za-z_][A-Za-z0-9_]*\})\}$/;

/** The placeholder key an argv entry names, or undefined for a literal entry. */
export function placeholderKey(entry: string): string | undefined {
  return PLACEHOLDER_RE.exec(entry)?.[1];
}

/** Fields every config command pipeline has; `pipelineConfigSchema` spreads them in. */
export const commandFields = {
  /** Present: a command pipeline. Absent: settings for a built-in pipeline. */
  command: z.array(z.string().min(1)).min(1, 'must name a program, e.g. ["python3", "train.py"]').optional(),
  /** Working directory (relative: to the config file's directory). Config only. */
  cwd: z.string().optional(),
  /** Extra environment for the program. Config only. */
  env: z.record(z.string(), z.string()).optional(),
  /** Partition keys and the kind of value each takes (see above). */
  partition: valueDeclarationsSchema.optional(),
  /** Params keys and the kind of value each takes (see above). */
  params: valueDeclarationsSchema.optional(),
};

interface CommandShape {
  command?: string[];
  cwd?: string;
  env?: Record<string, string>;
  partition?: Record<string, ValueKind>;
  params?: Record<string, ValueKind>;
}

/**
 * Cross-field checks of one command pipeline entry, for `superRefine`: every placeholder
 * names a declared key, the program is literal, and `partition`/`params`/`cwd`/`env` only
 * appear with a `command`. Issues carry the JSON path (`command[2]`), so the config error
 * reads `pipelines[0].command[2]: "{day}" is invalid: ...`.
 */
export function checkCommandEntry(entry: CommandShape, ctx: z.RefinementCtx): void {
  if (!entry.command) {
    for (const key of ['partition', 'params', 'cwd', 'env'] as const) {
      if (entry[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is only for command pipelines: give a "command" too, or remove it' });
    }
    return;
  }
  const partitionKeys = Object.keys(entry.partition ?? {});
  const paramKeys = Object.keys(entry.params ?? {});
  for (const key of partitionKeys) {
    if (paramKeys.includes(key))
      ctx.addIssue({
        code: 'custom',
        path: ['params', key],
        message: `must not repeat a partition key ("${key}" is declared in partition too), so {${key}} names one value`,
      });
  }
  entry.command.forEach((arg, i) => {
    const key = placeholderKey(arg);
    if (key === undefined) return;
    if (i === 0) {
      ctx.addIssue({ code: 'custom', path: ['command', 0], message: 'must be a fixed program, not a placeholder: only the config chooses what runs' });
      return;
    }
    if (!partitionKeys.includes(key) && !paramKeys.includes(key)) {
      const declared = [...partitionKeys.map((k) => `partition.${k}`), ...paramKeys.map((k) => `params.${k}`)];
      ctx.addIssue({
        code: 'custom',
        path: ['command', i],
        message: `must name a key declared in this pipeline's "partition" or "params" (declared: ${declared.length ? declared.join(', ') : 'none'}); write {{${key}}} for the literal text`,
      });
    }
  });
}

/** Params keys the command uses as placeholders: those must be given at enqueue. */
export function requiredParamKeys(entry: CommandShape): string[] {
  const paramKeys = Object.keys(entry.params ?? {});
  return [
    ...new Set(
      (entry.command ?? [])
        .slice(1)
        .map(placeholderKey)
        .filter((k): k is string => k !== undefined && paramKeys.includes(k)),
    ),
  ];
}
