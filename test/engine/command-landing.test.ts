import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.js';
import { openTestDatabase } from '../helpers/backends.js';

/** Command pipelines with depends_on and output, on both backends: real python3 children,
 * a real database, the worker's own drain. */
describe.each(['sqlite', 'postgres'] as const)('command pipeline dependencies and landing (%s)', (backend) => {
  it('a depends_on naming an unknown pipeline is a config error with the path', async () => {
    const db = await openTestDatabase(backend);
    try {
      const configPath = db.writeConfig({ pipelines: [{ domain: 'app', name: 'x', command: ['true'], depends_on: ['app.nope'] }] });
      await expect(createApp({ configPath, database: db.url, logLevel: 'silent' })).rejects.toThrow(/pipelines\[0\]\.depends_on\[0\]: "app\.nope" is invalid: must name a registered pipeline/);
    } finally {
      await db.dispose();
    }
  });
});
