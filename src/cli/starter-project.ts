/** Files `sluice init` writes: a TS pipeline, a Python collector landing rows after it. */
export const STARTER_FILES: Record<string, string> = {
  'sluice.config.ts': `import { appendFileSync } from 'node:fs';
import { defineConfig, definePipeline } from 'sluice';

// A pipeline in TypeScript: gets the same ctx as Sluice's own (partition, params, signal,
// log, data.land).
const prepare = definePipeline({
  domain: 'app',
  name: 'prepare',
  handler: async (ctx) => {
    ctx.log.info({ date: ctx.partition.date }, 'preparing');
    appendFileSync('prepared.log', \`\${ctx.partition.date}\\n\`);
    return { prepared: ctx.partition.date };
  },
});

export default defineConfig({
  database: 'sqlite:./sluice.db',
  pipelines: [
    prepare,
    // A script as a pipeline: runs after app.prepare for the same date, writes NDJSON rows
    // to $SLUICE_OUTPUT, and Sluice lands them into the dataset app.prices.
    {
      domain: 'app',
      name: 'collect',
      command: ['python3', 'collect.py', '{date}'],
      partition: { date: 'date' },
      depends_on: [{ pipeline: 'app.prepare', auto: true }],
      output: {
        dataset: 'prices',
        format: 'ndjson',
        columns: { date: 'date', symbol: 'text', close: { type: 'real', required: true } },
        primary_key: ['date', 'symbol'],
        checks: { min_rows: 1, row_count_drop: 0.5 },
      },
    },
  ],
});
`,
  'collect.py': `"""Collector run by Sluice: the partition arrives as argv ({date}) and SLUICE_PARTITION_DATE."""
import json
import os
import sys

day = sys.argv[1]
with open(os.environ["SLUICE_OUTPUT"], "w") as out:
    for symbol, close in [("AAPL", 190.5), ("MSFT", 410.25)]:
        out.write(json.dumps({"date": day, "symbol": symbol, "close": close}) + "\\n")
print("collected", day)
`,
};
