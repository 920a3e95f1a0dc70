import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { REPO_ROOT, runSluice, startSluice, type ExitResult, type SluiceProcess, type SpawnOptions } from './process.js';

/**
 * One test's world: a fresh `mkdtemp` directory holding a real SQLite file and a JSON config
 * file, plus helpers that run the real CLI against them and read the file directly to check
 * what the engine wrote. Reads open a short-lived connection each time, so they always see
 * the latest commit of the worker processes (WAL) and never hold a lock.
 */

export interface ItemRow {
  id: number;
  domain: string;
  pipeline: string;
  partition_key: string;
  params: string;
  state: string;
  priority: number;
  desired_at: number;
  attempts: number;
  total_attempts: number;
  max_attempts: number;
  locked_by: string | null;
  lease_expires_at: number | null;
  current_attempt_id: number | null;
  last_error: string | null;
  finished_at: number | null;
}

export interface AttemptRow {
  id: number;
  item_id: number;
  attempt_no: number;
  worker_id: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  error: string | null;
  output_tail: string | null;
  result: string | null;
}

export interface EventRow {
  id: number;
  item_id: number;
  at: number;
  event: string;
  from_state: string | null;
  to_state: string;
  actor: string | null;
  detail: string | null;
}

/**
 * An `access` config section for tests that point items at the bundled fixtures, temp
 * directories and fixture servers on 127.0.0.1 (by default items may only name the config's
 * directory and the vendors' own hosts).
 */
export const TEST_ACCESS = { data_roots: [path.join(REPO_ROOT, 'fixtures'), tmpdir()], allowed_hosts: ['127.0.0.1'] } as const;

/** Short leases and polls so crash, retry and shutdown tests finish in seconds. */
export const FAST_WORKERS = { concurrency: 1, lease: '1s', poll_interval: '100ms', shutdown_grace: '300ms' } as const;

export interface TestConfig {
  workers?: Record<string, unknown>;
  pipelines?: Record<string, unknown>[];
  [key: string]: unknown;
}

export class TestEnv {
  readonly dir: string;
  readonly dbPath: string;
  readonly configPath: string;

  constructor(config: TestConfig = {}, prefix = 'sluice-test-') {
    this.dir = mkdtempSync(path.join(tmpdir(), prefix));
    this.dbPath = path.join(this.dir, 'queue.db');
    this.configPath = path.join(this.dir, 'sluice.config.json');
    this.writeConfig(config);
  }

  get dbUrl(): string {
    return `sqlite:${this.dbPath}`;
  }

  /** Writes the config file; `workers` defaults to FAST_WORKERS, merged with what is given. */
  writeConfig(config: TestConfig): void {
    const full = {
      database: `sqlite:${this.dbPath}`,
      log_level: 'info',
      ...config,
      workers: { ...FAST_WORKERS, ...(config.workers ?? {}) },
      pipelines: config.pipelines ?? [],
    };
    writeFileSync(this.configPath, `${JSON.stringify(full, null, 2)}\n`);
  }

  /** `--config` and `--db` for this env, then the command. */
  args(command: readonly string[]): string[] {
    return ['--config', this.configPath, '--db', this.dbUrl, ...command];
  }

  cli(command: readonly string[], options: SpawnOptions = {}): Promise<ExitResult> {
    return runSluice(this.args(command), { cwd: this.dir, ...options });
  }

  /** Like `cli`, but fails the test with the process output if the exit code is not `expected`. */
  async cliOk(command: readonly string[], expected = 0, options: SpawnOptions = {}): Promise<ExitResult> {
    const r = await this.cli(command, options);
    if (r.code !== expected) {
      throw new Error(
        `sluice ${command.join(' ')} exited ${r.code} (${r.signal ?? 'no signal'}), expected ${expected}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
      );
    }
    return r;
  }

  spawn(command: readonly string[], options: SpawnOptions = {}): SluiceProcess {
    return startSluice(this.args(command), { cwd: this.dir, ...options });
  }

  /** Enqueues through the CLI and returns the item id. */
  async enqueue(pipeline: string, partition: string, extra: readonly string[] = []): Promise<number> {
    const r = await this.cliOk(['enqueue', pipeline, '--partition', partition, '--json', ...extra]);
    const [item] = JSON.parse(r.stdout) as { id: number }[];
    return item!.id;
  }

  /** Runs `fn` on a fresh connection to the queue file (created by the CLI, never by the test). */
  read<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(this.dbPath, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return fn(db);
    } finally {
      db.close();
    }
  }

  item(id: number): ItemRow {
    const row = this.read((db) => db.prepare('SELECT * FROM work_items WHERE id = ?').get(id) as ItemRow | undefined);
    if (!row) throw new Error(`work item ${id} not found in ${this.dbPath}`);
    return row;
  }

  items(): ItemRow[] {
    return this.read((db) => db.prepare('SELECT * FROM work_items ORDER BY id').all() as ItemRow[]);
  }

  attempts(itemId?: number): AttemptRow[] {
    return this.read((db) =>
      itemId === undefined
        ? (db.prepare('SELECT * FROM attempts ORDER BY id').all() as AttemptRow[])
        : (db.prepare('SELECT * FROM attempts WHERE item_id = ? ORDER BY attempt_no').all(itemId) as AttemptRow[]),
    );
  }

  events(itemId: number): EventRow[] {
    return this.read((db) => db.prepare('SELECT * FROM work_events WHERE item_id = ? ORDER BY id').all(itemId) as EventRow[]);
  }

  /** Rows in the queue tables (0s when the file has no schema yet). */
  counts(): { items: number; attempts: number; events: number } {
    if (!existsSync(this.dbPath)) return { items: 0, attempts: 0, events: 0 };
    return this.read((db) => {
      const has = db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'work_items'`).pluck().get() as number;
      if (!has) return { items: 0, attempts: 0, events: 0 };
      const n = (t: string) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
      return { items: n('work_items'), attempts: n('attempts'), events: n('work_events') };
    });
  }

  /** Content hash and mtime of the database file and whether WAL/SHM side files exist. */
  fileFingerprint(): { sha256: string; mtimeMs: number; size: number; wal: boolean; shm: boolean } {
    const bytes = readFileSync(this.dbPath);
    const st = statSync(this.dbPath);
    return {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      mtimeMs: st.mtimeMs,
      size: st.size,
      wal: existsSync(`${this.dbPath}-wal`),
      shm: existsSync(`${this.dbPath}-shm`),
    };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Polls `probe` until it returns something other than `undefined`/`false`/`null`, and returns
 * that. Probes read the database, so a test waits exactly as long as the engine needs.
 */
export async function poll<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
