import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.js';
import { loadConfig } from '../../src/config/load-config.js';

/**
 * Config files as a user's own project has them: real files in a fresh folder outside the
 * repository, with or without `"type": "module"`, loaded by the real loader. Pipelines come
 * from the config's `pipelines` (definePipeline objects) or from `modules`.
 */
const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const TS_CONFIG = `
const hello = { domain: 'app', name: 'hello', handler: async (ctx: { partition: Record<string, string> }) => ({ got: ctx.partition }) };
export default { database: 'sqlite:./app.db', workers: { concurrency: 2 }, pipelines: [hello, { domain: 'app', name: 'hello', retry: { max_attempts: 5 } }] };
`;

describe('config files in any folder', () => {
  it.each([
    ['sluice.config.ts without "type": "module"', { 'package.json': '{"name":"x"}', 'sluice.config.ts': TS_CONFIG }],
    ['sluice.config.ts with "type": "module"', { 'package.json': '{"name":"x","type":"module"}', 'sluice.config.ts': TS_CONFIG }],
    ['sluice.config.mts', { 'sluice.config.mts': TS_CONFIG }],
    ['sluice.config.mjs', { 'sluice.config.mjs': TS_CONFIG.replace(': { partition: Record<string, string> }', '') }],
    [
      'sluice.config.js (CommonJS)',
      {
        'sluice.config.js': `module.exports = ${'{'} database: 'sqlite:./app.db', workers: { concurrency: 2 }, pipelines: [{ domain: 'app', name: 'hello', handler: async () => ({}) }] };`,
      },
    ],
  ])('%s is found by default and its TS pipelines are registered', async (_label, files) => {
    const dir = project(files);
    const loaded = await loadConfig(undefined, dir);
    expect(path.dirname(loaded.file!)).toBe(dir);
    expect(loaded.config.workers.concurrency).toBe(2);
    expect(loaded.codePipelines?.map((p) => `${p.domain}.${p.name}`)).toEqual(['app.hello']);
    const app = await createApp({ loaded });
    try {
      expect(app.registry.has('app.hello')).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('a JSON config names pipeline modules; their exports are registered and tuned by the same config', async () => {
    const dir = project({
      'pipelines.ts': `export const a = { domain: 'app', name: 'a', handler: async () => ({}) };\nexport default [{ domain: 'app', name: 'b', handler: async () => ({}) }];\nexport const notAPipeline = 3;\n`,
      'sluice.config.yaml': `database: sqlite:./app.db\nmodules: [./pipelines.ts]\npipelines:\n  - { domain: app, name: b, timeout: 5s }\n`,
    });
    const loaded = await loadConfig(undefined, dir);
    expect(loaded.codePipelines?.map((p) => p.name).sort()).toEqual(['a', 'b']);
    const app = await createApp({ loaded });
    try {
      expect(app.registry.require('app.b').timeoutMs).toBe(5000);
    } finally {
      await app.close();
    }
  });

  it('errors name the file, the path as written (code pipelines counted) and the rule', async () => {
    const dir = project({
      'sluice.config.mts': `export default { pipelines: [{ domain: 'app', name: 'x', handler: () => ({}) }, { domain: 'app', name: 'y', retry: { max_attemps: 2 } }] };`,
    });
    await expect(loadConfig(undefined, dir)).rejects.toThrow(/pipelines\[1\]\.retry\.max_attemps.*must not be present/);
    const missing = project({ 'sluice.config.json': '{"modules": ["./nope.ts"]}' });
    await expect(loadConfig(undefined, missing)).rejects.toThrow(/modules\[0\]: "\.\/nope\.ts" is invalid: must name an existing file/);
    const empty = project({ 'm.mjs': 'export const x = 1;', 'sluice.config.json': '{"modules": ["./m.mjs"]}' });
    await expect(loadConfig(undefined, empty)).rejects.toThrow(/modules\[0\].*export at least one pipeline/);
    const broken = project({ 'sluice.config.ts': 'export default {{ nope' });
    await expect(loadConfig(undefined, broken)).rejects.toThrow(/load as a module/);
    const noDefault = project({ 'sluice.config.mjs': 'export const x = 1;' });
    await expect(loadConfig(undefined, noDefault)).rejects.toThrow(/export the config object as default/);
  });
});
