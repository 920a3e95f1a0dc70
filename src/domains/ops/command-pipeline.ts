import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ESCAPED_PLACEHOLDER_RE, placeholderKey, type ValueKind } from '../../config/command-pipeline.js';
import { PermanentError } from '../../core/errors.js';
import { definePipeline, type PipelineDefinition } from '../../core/pipeline.js';
import { getCalendar } from '../../time/calendars.js';
import { dayOfWeek, FRIDAY, isValidDate } from '../../time/civil-date.js';
import type { CommandOutput } from '../../config/command-output.js';
import { landOutput, outputDataset, outputFile, OutputFileError } from './command-output.js';

/** A command pipeline as the config declares it (already validated by the config schema). */
export interface CommandPipelineSpec {
  domain: string;
  name: string;
  description?: string;
  /** Program and arguments; `{key}` entries are placeholders for partition or params values. */
  argv: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  partition?: Readonly<Record<string, ValueKind>>;
  params?: Readonly<Record<string, ValueKind>>;
  /** Rows the script writes to SLUICE_OUTPUT land in this dataset (see command-output.ts). */
  output?: CommandOutput;
}

const TEXT_RULE = 'must be 1-200 printable characters, not starting with "-", without "/", "\\" or ".."';

/** Why `value` is not of `kind`, or null when it is. Values reach argv as whole entries. */
export function valueProblem(kind: ValueKind, value: string): string | null {
  if (typeof kind === 'object') {
    if ('enum' in kind) return kind.enum.includes(value) ? null : `must be one of ${kind.enum.join(', ')}`;
    return new RegExp(`^(?:${kind.pattern})$`).test(value) ? null : `must match ${kind.pattern}`;
  }
  switch (kind) {
    case 'date':
      return isValidDate(value) ? null : 'must be a date YYYY-MM-DD';
    case 'week_ending':
      return isValidDate(value) && dayOfWeek(value) === FRIDAY ? null : 'must be a Friday as YYYY-MM-DD';
    case 'session': {
      if (!isValidDate(value)) return 'must be a date YYYY-MM-DD';
      let reason: string | undefined;
      try {
        reason = getCalendar('XNYS').closureReason(value);
      } catch (err) {
        return `must be an XNYS session (${(err as Error).message})`;
      }
      return reason === undefined ? null : `must be an XNYS session (${value} is closed: ${reason})`;
    }
    case 'integer':
      return /^-?\d{1,15}$/.test(value) ? null : 'must be an integer';
    case 'text':
      // Not an option (`--output=…`), not a path that climbs out (`../x`, `/etc/passwd`), no
      // control characters: the program gets a plain value, whatever it does with it.
      return value.length >= 1 && value.length <= 200 && !value.startsWith('-') && !/[/\\\p{Cc}]/u.test(value) && !value.includes('..') ? null : TEXT_RULE;
  }
}

function stringValue(kind: ValueKind) {
  return z.string().superRefine((value, ctx) => {
    const problem = valueProblem(kind, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** A params value of `kind`: numbers are accepted for `integer` and turned into text. */
function paramValue(kind: ValueKind) {
  const text = stringValue(kind);
  return kind === 'integer' ? z.union([z.number().int().transform(String), text]) : text;
}

/** Params keys the argv uses as placeholders: those must be given. */
function usedKeys(argv: readonly string[]): Set<string> {
  return new Set(
    argv
      .slice(1)
      .map(placeholderKey)
      .filter((k): k is string => k !== undefined),
  );
}

/**
 * The argv to run for one item: each `{key}` entry replaced by that partition or params
 * value as one whole entry, `{{key}}` turned into the literal `{key}`. The values were
 * validated at enqueue; a value missing here (an item enqueued before the config changed)
 * fails the attempt for good rather than running the program with a gap.
 */
export function substituteArgv(argv: readonly string[], partition: Readonly<Record<string, string>>, params: Readonly<Record<string, unknown>>): string[] {
  return argv.map((entry, i) => {
    const escaped = ESCAPED_PLACEHOLDER_RE.exec(entry);
    if (escaped) return escaped[1]!;
    const key = i === 0 ? undefined : placeholderKey(entry);
    if (key === undefined) return entry;
    const value = key in partition ? partition[key] : params[key];
    if (typeof value !== 'string' || value === '')
      throw new PermanentError(`command[${i}] {${key}}: the item has no value for "${key}"; enqueue it with that partition or params key`);
    return value;
  });
}

/**
 * A config-declared command pipeline. Its program, arguments, working directory and
 * environment are fixed by the config; an item supplies only the declared values.
 */
export function commandPipeline(spec: CommandPipelineSpec): PipelineDefinition {
  const used = usedKeys(spec.argv);
  const partition = spec.partition
    ? (z.strictObject(Object.fromEntries(Object.entries(spec.partition).map(([k, kind]) => [k, stringValue(kind)]))) as unknown as z.ZodType<
        Record<string, string>
      >)
    : undefined;
  const declaredParams = Object.fromEntries(
    Object.entries(spec.params ?? {}).map(([k, kind]) => [k, used.has(k) ? paramValue(kind) : paramValue(kind).optional()]),
  );
  // A landing pipeline also takes `force` (land even when the output is unchanged), as the
  // built-in ingest pipelines do.
  const params = z.strictObject(spec.output ? { force: z.boolean().optional(), ...declaredParams } : declaredParams);
  const dataset = spec.output ? outputDataset(spec.domain, spec.output) : undefined;
  return definePipeline({
    domain: spec.domain,
    name: spec.name,
    description: spec.description ?? `Runs ${spec.argv.join(' ')}`,
    partition,
    params,
    handler: async (ctx) => {
      // Partitions are checked at enqueue; checked again here because the item may predate
      // the current config, and a value must never reach argv unchecked.
      let checkedPartition = ctx.partition;
      if (partition) {
        const parsed = partition.safeParse(ctx.partition);
        if (!parsed.success)
          throw new PermanentError(
            `partition ${JSON.stringify(ctx.partition)} no longer fits this pipeline's declared partition: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
          );
        checkedPartition = parsed.data;
      }
      const argv = substituteArgv(spec.argv, checkedPartition, ctx.params as Record<string, unknown>);
      // The process runner is loaded when a command item first runs, not to list or validate.
      const { runCommand } = await import('./command.js');
      if (!spec.output || !dataset) return runCommand(ctx, { argv, cwd: spec.cwd, env: spec.env });
      const output = spec.output;
      const out = outputFile(output);
      let keep = false;
      try {
        const run = await runCommand(ctx, { argv, cwd: spec.cwd, env: { ...spec.env, SLUICE_OUTPUT: out.file, SLUICE_OUTPUT_FORMAT: output.format } });
        const landed = await landOutput(ctx, dataset, output, out.file, (ctx.params as { force?: boolean }).force === true);
        return { ...run, ...landed };
      } catch (err) {
        // Rows the dataset refused: the error names this file, so it stays for a look.
        keep = err instanceof OutputFileError && existsSync(out.file);
        throw err;
      } finally {
        if (!keep) out.cleanup();
      }
    },
  });
}
