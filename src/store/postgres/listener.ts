import pg from 'pg';
import { quoteIdent } from './migrations.js';

export interface PgListenerOptions {
  connectionString: string;
  /** Channels to LISTEN on (validated identifiers). */
  channels: readonly string[];
  onNotification: (channel: string, payload: string) => void;
  /** Called after the connection came back (or first came up after failures): notifications
   * sent while it was down are lost, so the owner should assume there is new work. */
  onRecovered: () => void;
  applicationName?: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * One dedicated connection that LISTENs for NOTIFY. A pooled client would not do: the pool
 * hands it to someone else (or closes it when idle) and the subscription silently ends.
 *
 * When the connection drops (PostgreSQL restart, network), it reconnects with exponential
 * back-off and jitter, re-issues LISTEN, then calls `onRecovered` so waiting workers look for
 * work that arrived meanwhile.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private started = false;
  private closed = false;
  private failures = 0;
  private connectedOnce = false;
  private timer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: PgListenerOptions) {}

  /** Starts connecting (once); returns at once. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.connect();
  }

  /** Resolves once LISTEN is active on a live connection (or the listener is closed). */
  ready(): Promise<void> {
    this.start();
    if (this.client) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get listening(): boolean {
    return this.client !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    // Nobody should wait forever on a listener that will never come up.
    for (const resolve of this.waiters.splice(0)) resolve();
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.options.applicationName ?? 'sluice-listener',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = null;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (msg) => this.options.onNotification(msg.channel, msg.payload ?? ''));
    try {
      await client.connect();
      if (this.closed) {
        dropped = true;
        await client.end().catch(() => undefined);
        return;
      }
      await client.query(this.options.channels.map((c) => `LISTEN ${quoteIdent(c, 'channel name')}`).join('; '));
    } catch {
      drop();
      return;
    }
    if (dropped || this.closed) return;
    const recovered = this.connectedOnce || this.failures > 0;
    this.client = client;
    this.connectedOnce = true;
    this.failures = 0;
    const waiters = this.waiters.splice(0);
    for (const resolve of waiters) resolve();
    if (recovered) this.options.onRecovered();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 10_000;
    const base = Math.min(max, min * 2 ** Math.min(this.failures, 16));
    this.failures++;
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
    this.timer.unref();
  }
}
