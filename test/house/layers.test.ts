// The house rule: imports run down the layers, never up. The order is written once, here,
// as data; every file under src/ is parsed (TypeScript's own pre-processor, so `import
// type` and re-exports count too) and each relative import is checked against it.
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Lowest first: a file may import from its own layer or any earlier one. */
export const LAYERS = ['core', 'log', 'store', 'time', 'connectors', 'data', 'config', 'domains', 'engine', 'metrics', 'app', 'api', 'cli'] as const;

/** The public face re-exports from every layer; nothing imports it from inside src/. */
const PUBLIC_FACE = 'index.ts';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The layer of a path under src/, or undefined for the public face. */
function layerOf(path: string): number | undefined {
  const rel = relative(SRC, path);
  if (rel === PUBLIC_FACE) return undefined;
  const top = rel.split(sep)[0] ?? '';
  const index = (LAYERS as readonly string[]).indexOf(top);
  if (index < 0) throw new Error(`src/${rel}: folder "${top}" has no place in LAYERS; add it there`);
  return index;
}

export interface UpwardImport {
  file: string;
  imports: string;
  from: string;
  to: string;
}

export function upwardImports(files: string[]): UpwardImport[] {
  const found: UpwardImport[] = [];
  for (const file of files) {
    const own = layerOf(file);
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName);
      if (relative(SRC, target).startsWith('..')) continue;
      if (relative(SRC, target).replace(/\.(js|ts)$/, '') === 'index') {
        if (own !== undefined) {
          found.push({ file: relative(SRC, file), imports: fileName, from: LAYERS[own]!, to: 'index (public face)' });
        }
        continue;
      }
      const theirs = layerOf(target);
      if (own !== undefined && theirs !== undefined && theirs > own) {
        found.push({ file: relative(SRC, file), imports: fileName, from: LAYERS[own]!, to: LAYERS[theirs]! });
      }
    }
  }
  return found;
}

describe('layers', () => {
  it('every folder under src/ has a place in the order', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    expect(folders.filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([]);
  });

  it('no import in src/ runs up the layers', () => {
    const offenders = upwardImports(sourceFiles(SRC)).map((u) => `src/${u.file} (${u.from}) imports ${u.imports} (${u.to})`);
    expect(offenders).toEqual([]);
  });

  it('the check catches an upward import', () => {
    // A file written on the spot in core/ that reaches into cli/: the rule must see it.
    const probe = join(SRC, 'core', '__layers_probe__.ts');
    writeFileSync(probe, "import type { X } from '../cli/main.js';\nexport type Y = X;\n");
    try {
      expect(upwardImports([probe])).toEqual([{ file: join('core', '__layers_probe__.ts'), imports: '../cli/main.js', from: 'core', to: 'cli' }]);
    } finally {
      rmSync(probe, { force: true });
    }
  });
});
