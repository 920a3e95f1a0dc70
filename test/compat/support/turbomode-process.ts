import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The task every command runs in the night tests: a real python3 process that appends one
 * JSON line (task, night date, start and end time) to markers.ndjson in the config's
 * directory, sleeps a little so overlaps would show, and prints a TurboMode-style results
 * dict as its last line. It exits 3 when a file `fail_<task>` exists.
 */
export const TASK_SCRIPT = `import json, os, sys, time
task, date = int(sys.argv[1]), sys.argv[2]
if os.path.exists('fail_%d' % task):
    print('IBKR Gateway not available', file=sys.stderr)
    sys.exit(3)
start = time.time()
time.sleep(float(os.environ.get('TASK_SLEEP', '0.3')))
end = time.time()
with open('markers.ndjson', 'a') as f:
    f.write(json.dumps({'task': task, 'date': date, 'start': start, 'end': end, 'tag': os.environ.get('TAG', 'v1')}) + '\\n')
print(json.dumps({'status': 'success', 'task': task, 'night': date, 'symbols_processed': 83}))
`;

export interface Marker {
  task: number;
  date: string;
  start: number;
  end: number;
  tag: string;
}

export function installTaskScript(dir: string): void {
  writeFileSync(path.join(dir, 'task.py'), TASK_SCRIPT);
}

/** The interpreter itself, not a version manager's shim (pyenv's costs seconds a start). */
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

export const taskCommand = (id: number) => [PYTHON, 'task.py', String(id), '{date}'];

export function readMarkers(dir: string): Marker[] {
  const file = path.join(dir, 'markers.ndjson');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Marker);
}
