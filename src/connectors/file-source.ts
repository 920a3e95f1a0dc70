import { constants } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SourceError, SourceNotFoundError } from './errors.js';
import type { SourceBytes } from './http-source.js';

/**
 * Reads source files from one directory. `read` takes one name or several candidates (the
 * same data may be published under different names) and returns the first that exists.
 * Errors name the directory and every path tried.
 */
export class FileSource {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  async read(names: string | readonly string[], signal?: AbortSignal): Promise<SourceBytes> {
    const candidates = typeof names === 'string' ? [names] : names;
    if (candidates.length === 0) throw new SourceError(`no file name given to read from ${this.dir}`, this.dir, 'source_config', { permanent: true });
    const info = await stat(this.dir).catch(() => null);
    if (!info || !info.isDirectory()) {
      throw new SourceError(`data directory ${this.dir} does not exist or is not a directory`, this.dir, 'source_config', { permanent: true });
    }
    const tried: string[] = [];
    for (const name of candidates) {
      const file = this.pathOf(name);
      tried.push(file);
      try {
        // O_NOFOLLOW: a symbolic link planted under a data directory cannot make Sluice read
        // a file outside it (checked by the open itself, so it cannot be swapped in between).
        const bytes = await readFile(file, { signal, flag: constants.O_RDONLY | constants.O_NOFOLLOW });
        return { bytes, uri: file };
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code === 'ELOOP')
          throw new SourceError(
            `refusing to read ${file}: it is a symbolic link (Sluice reads only regular files inside a data directory)`,
            file,
            'source_config',
            { permanent: true },
          );
        throw new SourceError(`cannot read ${file}: ${(err as Error).message}`, file, 'source_io', { permanent: code === 'EACCES' || code === 'EISDIR' });
      }
    }
    const list = tried.length === 1 ? tried[0]! : `any of ${tried.join(', ')}`;
    throw new SourceNotFoundError(`file not found: ${list}`, tried[0]!, tried);
  }

  private pathOf(name: string): string {
    const file = path.resolve(this.dir, name);
    if (path.dirname(file) !== this.dir || name.includes('/') || name.includes('\\')) {
      throw new SourceError(`file name ${JSON.stringify(name)} must be a plain name inside ${this.dir}`, this.dir, 'source_config', { permanent: true });
    }
    return file;
  }
}
