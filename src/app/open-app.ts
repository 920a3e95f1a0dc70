import path from 'node:path';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { PipelineDefinition } from '../core/pipeline.js';
import { resolveRetryPolicy } from '../core/retry-policy.js';
import { commandPipeline, opsPipelines } from '../domains/ops/index.js';
import { finraPipelines } from '../domains/finra/pipelines.js';
import { pricesPipelines } from '../domains/prices/pipelines.js';
import { fredPipelines } from '../domains/fred/pipelines.js';
import { featuresPipelines } from '../domains/features/pipelines.js';
import { checkDependencyGraph } from '../engine/dependencies.js';
import { PipelineRegistry } from '../engine/registry.js';
import { BUNDLED_DEMO_CONFIG, DEFAULT_CONFIG_NAMES, loadConfig, resolveDatabaseUrl, type LoadedConfig } from '../config/load-config.js';
import type { SluiceConfig } from '../config/schema.js';
import { lazyLogger, type LogLevel } from '../log/logger.js';
import { resolveLogFormat } from '../log/pretty.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { Dataset } from '../data/dataset.js';
import type { DependencySpec, PartitionMapping } from '../core/dependencies.js';
import type { DependsOnEntry } from '../config/command-output.js';
import { outputDataset } from '../domains/ops/command-output.js';
import { compileSchedules, type CompiledSchedule } from '../engine/scheduler/compile-schedule.js';
import type pino from 'pino';
import { compileAlerting } from '../engine/alerts/compile-alerting.js';

export interface AppOptions {
  configPath?: string;
  /** `--db`: overrides the config's database (and SLUICE_DATABASE_URL). */
  database?: string;
  logLevel?: LogLevel;
  /** `--log-format`: json or pretty; default pretty when stderr is a terminal (SLUICE_LOG_FORMAT). */
  logFormat?: string;
  /** Extra pipelines (library users, tests). */
  pipelines?: PipelineDefinition[];
  /** Use an already loaded config instead of reading a file. */
  loaded?: LoadedConfig;
}

/**
 * The part of an app a command that only reads needs (`sluice status`, `sluice pipelines`):
 * the config checked exactly as `createApp` checks it, the registry, the compiled schedules
 * and the opened store. It loads no worker, scheduler or data layer (createApp adds those),
 * and the logger is made on first use, so such a command starts in a fraction of the time.
 */
export interface AppCore {
  readonly loaded: LoadedConfig;
  readonly config: SluiceConfig;
  readonly databaseUrl: string;
  readonly store: Store;
  readonly registry: PipelineRegistry;
  readonly logger: pino.Logger;
  readonly schedules: readonly CompiledSchedule[];
  /** Datasets declared by config command pipelines' `output` (read by `sluice data`). */
  readonly datasets: readonly Dataset[];
  close(): Promise<void>;
}

export async function openApp(options: AppOptions = {}): Promise<AppCore> {
  const loaded = options.loaded ?? (await loadConfig(options.configPath));
  // `--config` naming the demo file is a choice, not a fallback: nothing to check or say.
  if (!options.loaded && options.configPath === undefined) checkDemoFallback(loaded, options.database);
  const { config } = loaded;
  const level = options.logLevel ?? (process.env.SLUICE_LOG_LEVEL as LogLevel | undefined) ?? config.log_level;
  const logger = lazyLogger(level, 2, resolveLogFormat(options.logFormat, process.stderr));
  const databaseUrl = resolveDatabaseUrl(loaded, options.database);
  // The registry is built (and the config's pipelines checked) before the database is
  // opened, so a bad config never creates or migrates a database file.
  const registry = new PipelineRegistry();
  for (const def of opsPipelines()) registry.register(def);
  for (const def of finraPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of pricesPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of fredPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of featuresPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of loaded.codePipelines ?? []) registry.register(def);
  for (const def of options.pipelines ?? []) registry.register(def);
  const datasets = applyPipelineConfig(registry, loaded);
  checkDependencyGraph(registry);
  const schedules = compileSchedules(config, registry, loaded.file ?? undefined);
  compileAlerting(config, registry, loaded.file ?? undefined);

  const store = await openStore(databaseUrl);
  return {
    loaded,
    config,
    databaseUrl,
    store,
    registry,
    get logger() {
      return logger();
    },
    schedules,
    datasets,
    close: () => store.close(),
  };
}

/** Config `pipelines[]`: a `command` entry defines a new command pipeline; an entry without
 * one tunes a pipeline that code already registered (retry, timeout, concurrency). */
export function applyPipelineConfig(registry: PipelineRegistry, loaded: LoadedConfig): Dataset[] {
  const datasets: Dataset[] = [];
  const dependencies: { field: string; deps: DependsOnEntry[]; partitionKeys: string[] | null }[] = [];
  const stages = new Map<string, { dataset: string; field: string }>();
  loaded.config.pipelines.forEach((p, n) => {
    const field = `pipelines[${loaded.pipelineIndex?.[n] ?? n}]`;
    const key = `${p.domain}.${p.name}`;
    const settings = {
      retry: p.retry ? resolveRetryPolicy(p.retry, undefined, `${field}.retry`) : undefined,
      timeoutMs: p.timeout === undefined ? undefined : parseDuration(p.timeout, `${field}.timeout`),
      concurrency: p.concurrency,
      priority: p.priority,
    };
    if (!p.command) {
      for (const k of ['depends_on', 'output'] as const) {
        if (p[k] !== undefined)
          throw new ValidationError(
            `${field}.${k}`,
            p[k],
            'be given only with a "command" (pipelines defined in code declare dependsOn in definePipeline)',
            loaded.file ?? undefined,
          );
      }
    }
    if (p.command) {
      const cwd = p.cwd ? path.resolve(loaded.baseDir, p.cwd) : loaded.baseDir;
      const def = commandPipeline({
        domain: p.domain,
        name: p.name,
        description: p.description,
        argv: p.command,
        cwd,
        env: p.env,
        partition: p.partition,
        params: p.params,
        output: p.output,
      });
      registry.register(p.depends_on ? { ...def, dependsOn: p.depends_on.map(toDependencySpec) } : def, settings);
      if (p.depends_on) dependencies.push({ field, deps: p.depends_on, partitionKeys: p.partition ? Object.keys(p.partition) : null });
      if (p.output) {
        // One (domain, stage) holds one dataset: its manifest row and content hash are shared.
        const stageKey = `${p.domain} ${p.output.stage}`;
        const other = stages.get(stageKey);
        if (other && other.dataset !== p.output.dataset) {
          throw new ValidationError(
            `${field}.output.stage`,
            p.output.stage,
            `be a stage no other output of domain ${p.domain} lands a different dataset in (${other.field} lands ${other.dataset} there)`,
            loaded.file ?? undefined,
          );
        }
        stages.set(stageKey, { dataset: p.output.dataset, field });
        datasets.push(outputDataset(p.domain, p.output));
      }
    } else if (registry.has(key)) {
      registry.configure(key, settings);
    } else {
      throw new ValidationError(
        `${field}.command`,
        undefined,
        `be given: "${key}" is not a built-in pipeline, so the config must say what to run`,
        loaded.file ?? undefined,
      );
    }
  });
  // References are checked once every pipeline is registered, so an entry may depend on one
  // listed after it.
  for (const { field, deps, partitionKeys } of dependencies) checkDependsOn(registry, field, deps, partitionKeys, loaded.file ?? undefined);
  return datasets;
}

function toDependencySpec(entry: DependsOnEntry): DependencySpec {
  if (typeof entry === 'string') return { pipeline: entry };
  const keys = entry.keys;
  const mapping: PartitionMapping = entry.fan_in
    ? { kind: 'fan_in', dimension: entry.fan_in.dimension, values: entry.fan_in.values, keys }
    : entry.previous
      ? { kind: 'previous', key: entry.previous.key, step: entry.previous.step, keys }
      : { kind: 'identity', keys };
  return { pipeline: entry.pipeline, mapping, auto: entry.auto };
}

/** A dependency must name a registered pipeline, and (when the partition is declared) map
 * only keys the downstream partition has. */
function checkDependsOn(
  registry: PipelineRegistry,
  field: string,
  deps: readonly DependsOnEntry[],
  partitionKeys: string[] | null,
  file: string | undefined,
): void {
  deps.forEach((entry, j) => {
    const at = `${field}.depends_on[${j}]`;
    const ref = typeof entry === 'string' ? entry : entry.pipeline;
    if (!registry.has(ref)) {
      const known = registry
        .list()
        .map((p) => p.key)
        .filter((k) => !k.startsWith('ops.'));
      throw new ValidationError(
        typeof entry === 'string' ? at : `${at}.pipeline`,
        ref,
        `name a registered pipeline (known: ${known.join(', ') || 'none besides ops.*'})`,
        file,
      );
    }
    if (typeof entry === 'string' || !partitionKeys) return;
    entry.keys?.forEach((k, i) => {
      if (!partitionKeys.includes(k))
        throw new ValidationError(`${at}.keys[${i}]`, k, `name a key of this pipeline's partition (${partitionKeys.join(', ')})`, file);
    });
    if (entry.previous && !partitionKeys.includes(entry.previous.key)) {
      throw new ValidationError(`${at}.previous.key`, entry.previous.key, `name a date key of this pipeline's partition (${partitionKeys.join(', ')})`, file);
    }
  });
}

/**
 * No config file here: the bundled demo config is a fallback for the repository's own demo.
 * Anywhere else it would quietly create `./sluice.db` from a config the user never wrote, so
 * it needs an explicit database (`--db`, SLUICE_DATABASE_URL), and says it is being used.
 */
function checkDemoFallback(loaded: LoadedConfig, database: string | undefined): void {
  if (loaded.file !== BUNDLED_DEMO_CONFIG) return;
  const packageRoot = path.resolve(path.dirname(BUNDLED_DEMO_CONFIG), '..');
  if (path.resolve(process.cwd()) === packageRoot) return;
  if (database === undefined && !process.env.SLUICE_DATABASE_URL) {
    throw new ValidationError(
      '--config',
      undefined,
      `be given: no ${DEFAULT_CONFIG_NAMES.join(', ')} in ${process.cwd()}; run "sluice init" to write a starter project, or pass --config FILE (the bundled demo is ${BUNDLED_DEMO_CONFIG}, used only with an explicit --db)`,
    );
  }
  process.stderr.write(`sluice: no config file in ${process.cwd()}; using the bundled demo config ${BUNDLED_DEMO_CONFIG}\n`);
}
