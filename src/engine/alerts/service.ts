import type { Logger } from '../../core/pipeline.js';
import type { SluiceConfig } from '../../config/schema.js';
import { alertStoreFor } from '../../store/alert-store.js';
import type { Store } from '../../store/store.js';
import type { PipelineRegistry } from '../registry.js';
import type { DeadlineRule } from './deadline-rules.js';
import { compileAlerting } from './compile-alerting.js';
import { DeadlineSweeper } from './deadline-sweeper.js';
import { AlertDispatcher } from './dispatcher.js';

export interface AlertingOptions {
  store: Store;
  registry: PipelineRegistry;
  config: SluiceConfig;
  logger: Logger;
  source?: string;
  dashboardUrl?: string | null;
  /** How often deadlines are swept (default 5s) and the outbox polled (default 1s). */
  sweepMs?: number;
  pollMs?: number;
  baseDelayMs?: number;
}

export { compileAlerting } from './compile-alerting.js';

/**
 * The deadline sweeper and the alert dispatcher, as background loops of `sluice start`: both
 * keep their state in the database, so several processes may run them at once.
 */
export class Alerting {
  readonly deadlines: DeadlineRule[];
  readonly dispatcher: AlertDispatcher;
  readonly sweeper: DeadlineSweeper;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;

  constructor(private readonly o: AlertingOptions) {
    this.deadlines = compileAlerting(o.config, o.registry, o.source).deadlines;
    const alerts = alertStoreFor(o.store);
    this.sweeper = new DeadlineSweeper(alerts, this.deadlines, o.logger);
    const schedulePipelines = new Map(o.config.schedules.map((s) => [s.name, o.registry.require(s.pipeline).key]));
    this.dispatcher = new AlertDispatcher({
      alerts,
      rules: o.config.alerts,
      logger: o.logger,
      schedulePipelines,
      dashboardUrl: o.dashboardUrl,
      pollMs: o.pollMs,
      baseDelayMs: o.baseDelayMs,
    });
  }

  start(): void {
    if (this.deadlines.length > 0) {
      const tick = () => {
        this.sweeping = this.sweeper.sweep().finally(() => {
          this.sweeping = null;
          if (this.timer) this.timer = setTimeout(tick, this.o.sweepMs ?? 5000);
        });
      };
      this.timer = setTimeout(tick, 0);
    }
    // Without alerts the outbox is only written (and kept for when alerts are configured).
    if (this.o.config.alerts.length > 0) this.dispatcher.start();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping;
    await this.dispatcher.stop();
  }
}
