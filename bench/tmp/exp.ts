import { performance } from 'node:perf_hooks';
import { writeFinraFile } from '../ingest.js';
import { filePieces } from '../../src/connectors/file-pieces.js';
import { FinraStreamParser } from '../../src/domains/finra/parse.js';
import { validateRows } from '../../src/data/dataset.js';
import { rawWeekly } from '../../src/domains/finra/datasets.js';
const N = Number(process.argv[2] ?? 300000);
const file = '/tmp/i13-exp.csv';
writeFinraFile(file, N);
let t = performance.now();
let p = new FinraStreamParser(filePieces(file), { uri: file, weekEnding: '2025-12-19', tier: 'NMS_TIER_1' });
let n = 0;
for (const c of p.chunks()) n += c.length;
console.log('parse', n, Math.round(performance.now() - t), 'ms', Math.round(process.memoryUsage().rss / 2**20));
t = performance.now();
p = new FinraStreamParser(filePieces(file), { uri: file, weekEnding: '2025-12-19', tier: 'NMS_TIER_1' });
let off = 0;
for (const c of p.chunks()) { validateRows(rawWeekly, c, file, off); off += c.length; }
console.log('parse+validate', Math.round(performance.now() - t), 'ms', Math.round(process.memoryUsage().rss / 2**20));
