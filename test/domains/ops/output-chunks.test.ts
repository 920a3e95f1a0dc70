import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputFileError, outputChunks } from '../../../src/domains/ops/command-output.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-output-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Enough rows that the file spans several 1 MiB reads, with multi-byte text across read boundaries. */
const ROWS = 30_000;
const name = (i: number) => `Zürich "${i}" ${'é'.repeat(20)}`;

const collect = async (file: string, format: 'ndjson' | 'csv') => {
  const chunks = [...(await outputChunks(file, format))];
  return { sizes: chunks.map((c) => c.length), rows: chunks.flat() };
};

describe('script output rows in chunks', () => {
  it('NDJSON: every row once, in order, with its line, in chunks of at most 2,000', async () => {
    const file = path.join(dir, 'rows.ndjson');
    writeFileSync(file, Array.from({ length: ROWS }, (_, i) => JSON.stringify({ id: i, name: name(i) }) + (i % 1000 === 0 ? '\n' : '')).join('\n') + '\n');
    const { sizes, rows } = await collect(file, 'ndjson');
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2_000);
    expect(rows).toHaveLength(ROWS);
    expect(rows[29_999]).toEqual({ id: 29_999, name: name(29_999), __line: 29_999 + 30 + 1 });
    expect(rows.every((r, i) => r.id === i && r.name === name(i))).toBe(true);
  });

  it('CSV: quoted fields with newlines across reads, the record line, and a damaged record named', async () => {
    const file = path.join(dir, 'rows.csv');
    writeFileSync(file, `id,name\n${Array.from({ length: ROWS }, (_, i) => `${i},"${name(i).replaceAll('"', '""')}\nsecond line"`).join('\n')}\n`);
    const { rows } = await collect(file, 'csv');
    expect(rows).toHaveLength(ROWS);
    expect(rows[1]).toEqual({ id: '1', name: `${name(1)}\nsecond line`, __line: 5 });
    expect(rows.every((r, i) => r.id === String(i))).toBe(true);

    writeFileSync(file, 'id,name\n1,"open\n');
    await expect(collect(file, 'csv')).rejects.toThrow(OutputFileError);
  });
});
