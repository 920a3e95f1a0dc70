import { lstatSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Where values from a work item (params, partitions) may point Sluice: directories under the
 * configured data roots, and hosts the config allows. Items come from whoever can reach the
 * API, `sluice enqueue`, a schedule or a backfill, so a `data_dir`, `export_dir` or
 * `base_url` in params is checked here when it is enqueued (the pipeline's params schema
 * uses these checks, so a bad value is a 400 naming the field and nothing is enqueued) and
 * again when a worker runs it.
 *
 * Values from the operator's own side (the config's `access` itself, `SLUICE_*` environment
 * variables, the batch CLIs' `--data-dir`/`--base-url` flags) are not items and are trusted.
 */
export interface AccessPolicy {
  /** Absolute directories a path from an item must stay inside. */
  readonly dataRoots: readonly string[];
  /** `host` (any port) or `host:port`, lower-case. */
  readonly allowedHosts: readonly string[];
  /** Relative paths from items resolve against it (the config's directory). */
  readonly baseDir: string;
}

export function accessPolicy(baseDir: string, access: { data_roots?: readonly string[]; allowed_hosts?: readonly string[] } | undefined): AccessPolicy {
  const roots = access?.data_roots ?? ['.'];
  return {
    baseDir,
    dataRoots: roots.map((r) => path.resolve(baseDir, r)),
    allowedHosts: (access?.allowed_hosts ?? []).map((h) => h.toLowerCase()),
  };
}

/** The same policy, with extra hosts allowed (a vendor's own public API host). */
export function withHosts(policy: AccessPolicy, hosts: readonly string[]): AccessPolicy {
  return { ...policy, allowedHosts: [...policy.allowedHosts, ...hosts.map((h) => h.toLowerCase())] };
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/**
 * Why `value` may not be used as a directory, or null when it may: it must not contain a
 * `..` segment, must resolve inside one of the data roots, and no existing component below
 * that root may be a symbolic link (a link could lead anywhere, and be swapped later).
 */
export function pathProblem(policy: AccessPolicy, value: string): string | null {
  const roots = policy.dataRoots.join(', ');
  if (value.includes('\0')) return 'must not contain a NUL character';
  if (value.split(/[\\/]+/).includes('..')) return `must not contain ".." (it must stay inside a data root: ${roots})`;
  const target = path.resolve(policy.baseDir, value);
  const root = policy.dataRoots.find((r) => isInside(r, target));
  if (root === undefined) return `must be inside a data root (${roots}); add a root to the config's access.data_roots to allow another`;
  let current = root;
  for (const segment of path.relative(root, target).split(path.sep).filter(Boolean)) {
    current = path.join(current, segment);
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch {
      return null; // does not exist (yet): nothing below it can be a link
    }
    if (isLink) return `must not pass through a symbolic link (${current} is one)`;
  }
  return null;
}

/**
 * Why `value` may not be fetched from, or null when it may: an http(s) URL without
 * credentials whose host (or host:port) the policy allows.
 */
export function urlProblem(policy: AccessPolicy, value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not carry credentials (keys come from the environment)';
  const host = url.hostname.toLowerCase();
  const hostPort = url.port ? `${host}:${url.port}` : host;
  const allowed = policy.allowedHosts.some((h) => h === host || h === hostPort);
  if (!allowed) {
    const list = policy.allowedHosts.length ? policy.allowedHosts.join(', ') : 'none';
    return `must be on an allowed host (allowed: ${list}); add "${hostPort}" to the config's access.allowed_hosts to allow it`;
  }
  return null;
}

/** A params field that names a directory: checked against the policy. */
export function confinedPath(policy: AccessPolicy) {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const problem = pathProblem(policy, value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** A params field that names a URL: checked against the policy. */
export function allowedUrl(policy: AccessPolicy) {
  return z.string().superRefine((value, ctx) => {
    const problem = urlProblem(policy, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}
