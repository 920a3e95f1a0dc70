/** Keeps the last `limit` characters written, so a chatty command cannot bloat the attempt row. */
export class OutputTail {
  private chunks: string[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit = 8 * 1024) {}

  write(text: string): void {
    if (!text) return;
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }

  toString(): string | null {
    if (this.size === 0) return null;
    let text = this.chunks.join('');
    if (text.length > this.limit) {
      text = text.slice(text.length - this.limit);
      this.dropped = true;
    }
    return this.dropped ? `…${text}` : text;
  }
}
