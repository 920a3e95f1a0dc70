import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

/** Bytes per read: big enough that syscalls do not matter, small enough to stay bounded. */
const PIECE = 1 << 20;

/**
 * A file's bytes in pieces, read synchronously: a streaming parser over them can feed a
 * SQLite landing transaction, which must not yield to other code on its connection. One
 * buffer is reused for every piece, so memory stays at one piece however lazily the garbage
 * collector runs: a consumer must copy (decode) a piece before asking for the next.
 */
export function* filePieces(file: string, size = PIECE): Generator<Buffer> {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(size);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, size, null);
      if (n === 0) return;
      yield n === size ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 (hex) of a file, streamed: the content hash `land` compares before reading rows. */
export function hashFile(file: string): string {
  const h = createHash('sha256');
  for (const piece of filePieces(file)) h.update(piece);
  return h.digest('hex');
}
