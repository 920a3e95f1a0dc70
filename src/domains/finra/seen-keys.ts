/**
 * The (symbol, MPID) pairs of one file seen so far, with the line of each, in a fraction of
 * the memory of a Map of strings: a million rows took ~100 MiB as `Map<"SYM|MPID", line>`
 * and take 12-24 MiB here. Symbols are numbered (a weekly file has thousands, not millions);
 * an MPID is four characters of [A-Z0-9] (MPID_RE, checked before a row gets here), so it
 * is a base-36 number below 36^4. Open addressing over one Int32Array of (symbol, mpid,
 * line) triples, doubled at 70 % full.
 */
export class SeenKeys {
  private readonly symbols = new Map<string, number>();
  private table: Int32Array;
  private mask: number;
  private size = 0;

  /**
   * `expected`: about how many pairs will come (FINRA's parser estimates it from the file's
   * length), so the table is allocated once: doubling a million-pair table held the old and
   * the new one at once (12 + 24 MiB) and rehashed every entry. More pairs still fit.
   */
  constructor(expected = 0) {
    let slots = 1024;
    while (slots * MAX_LOAD < expected && slots < MAX_INITIAL_SLOTS) slots *= 2;
    this.table = new Int32Array(3 * slots);
    this.mask = slots - 1;
  }

  /** The line the pair was first seen on, or undefined (and it is recorded with `line`). */
  firstOrAdd(symbol: string, mpid: string, line: number): number | undefined {
    let sym = this.symbols.get(symbol);
    // Numbered from 1: 0 marks an empty slot, so a new table needs no fill (its pages are the kernel's zeroes until written).
    if (sym === undefined) this.symbols.set(symbol, (sym = this.symbols.size + 1));
    const mp = parseInt(mpid, 36);
    for (let i = hash(sym, mp) & this.mask; ; i = (i + 1) & this.mask) {
      const at = 3 * i;
      const s = this.table[at]!;
      if (s === 0) {
        this.table[at] = sym;
        this.table[at + 1] = mp;
        this.table[at + 2] = line;
        if (++this.size > this.mask * MAX_LOAD) this.grow();
        return undefined;
      }
      if (s === sym && this.table[at + 1] === mp) return this.table[at + 2];
    }
  }

  private grow(): void {
    const old = this.table;
    this.mask = this.mask * 2 + 1;
    this.table = new Int32Array(3 * (this.mask + 1));
    for (let at = 0; at < old.length; at += 3) {
      const s = old[at]!;
      if (s === 0) continue;
      for (let i = hash(s, old[at + 1]!) & this.mask; ; i = (i + 1) & this.mask) {
        const to = 3 * i;
        if (this.table[to] === 0) {
          // Three stores, not `set(subarray)`: a view object per entry was most of a doubling's cost.
          this.table[to] = s;
          this.table[to + 1] = old[at + 1]!;
          this.table[to + 2] = old[at + 2]!;
          break;
        }
      }
    }
  }
}

/**
 * Filled share of the table before it doubles: linear probing stays short up to about 0.7,
 * and a table sized for a million pairs then takes 2^21 slots (24 MiB) rather than 2^22.
 */
const MAX_LOAD = 0.7;
/** The largest table allocated up front (2^23 slots, 96 MiB: 5.8 million pairs); beyond it the table grows as needed. */
const MAX_INITIAL_SLOTS = 1 << 23;

function hash(sym: number, mpid: number): number {
  return (Math.imul(sym, 0x9e3779b1) ^ Math.imul(mpid + 0x7f4a7c15, 0x85ebca77)) >>> 0;
}
