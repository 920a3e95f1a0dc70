import type { Logger } from '../../core/pipeline.js';
import { parseDuration } from '../../core/duration.js';
import { redact } from '../../connectors/redact.js';
import type { AlertConfig } from '../../config/alerts-schema.js';
import type { AlertDelivery, AlertEvent, AlertStore } from '../../store/alert-store.js';
import { alertBody, alertMessage, webhookSecrets, redactWebhook } from './webhook.js';

export interface DispatcherOptions {
  alerts: AlertStore;
  rules: readonly AlertConfig[];
  logger: Logger;
  /** schedule name -> domain.name, so a pipelines filter applies to schedule_missed. */
  schedulePipelines: ReadonlyMap<string, string>;
  dashboardUrl?: string | null;
  pollMs?: number;
  /** First retry after this long, doubling up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  /** Events older than this when first seen are not sent (a new alert does not page about history). */
  maxEventAgeMs?: number;
}

/**
 * Sends the outbox. Runs beside the worker, never in its path: each pass fans new events out
 * to one delivery per matching alert, then posts, for each alert, its oldest pending delivery
 * (so one receiver sees its events in order), moving on when it is acknowledged (2xx).
 * Network errors, timeouts, 408, 429 and 5xx retry with doubling back-off; another 4xx is a
 * refusal, recorded as rejected. State lives in the database: a restart resumes where it was,
 * and a claim keeps two dispatchers from posting the same delivery at once. A crash between a
 * receiver's 2xx and the mark can send that one delivery again; its `id` lets receivers drop it.
 */
export class AlertDispatcher {
  private running = false;
  private loop: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly byName: Map<string, AlertConfig>;
  private readonly abort = new AbortController();

  constructor(private readonly o: DispatcherOptions) {
    this.byName = new Map(o.rules.map((r) => [r.name, r]));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.runOnce();
        } catch (err) {
          this.o.logger.warn({ err: this.scrub(err) }, 'alert dispatch failed; will retry');
        }
        if (!this.running) break;
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          this.timer = setTimeout(resolve, this.o.pollMs ?? 1000);
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.wakeUp?.();
    await this.loop;
  }

  private lastPruneAt = 0;

  /** One pass: fan out, then deliver heads until none is due. Returns deliveries acknowledged. */
  async runOnce(now: () => Date = () => new Date()): Promise<number> {
    await this.fanOut(now());
    if (now().getTime() - this.lastPruneAt > 3_600_000) {
      // Hourly: what was delivered (or refused) more than 30 days ago leaves the outbox.
      this.lastPruneAt = now().getTime();
      await this.o.alerts.pruneAlerts(new Date(this.lastPruneAt - 30 * 86_400_000));
    }
    let sent = 0;
    for (let round = 0; round < 1000 && !this.abort.signal.aborted; round++) {
      // The claim outlives one request, so a dispatcher killed mid-request blocks its head only briefly.
      const heads = await this.o.alerts.claimDue(now(), (this.o.requestTimeoutMs ?? 10_000) + 2000);
      if (heads.length === 0) break;
      const results = await Promise.all(heads.map((d) => this.deliver(d, now)));
      const ok = results.filter(Boolean).length;
      sent += ok;
      if (ok === 0) break; // every head is backing off: wait for the next pass
    }
    return sent;
  }

  matches(rule: AlertConfig, e: AlertEvent): boolean {
    if (e.event === 'test') return false;
    if (!rule.on.includes(e.event)) return false;
    if (!rule.pipelines) return true;
    const key = e.domain && e.pipeline ? `${e.domain}.${e.pipeline}` : e.schedule ? this.o.schedulePipelines.get(e.schedule) : undefined;
    return key !== undefined && rule.pipelines.includes(key);
  }

  private async fanOut(now: Date): Promise<void> {
    const maxAge = this.o.maxEventAgeMs ?? 24 * 3_600_000;
    for (;;) {
      const events = await this.o.alerts.unfannedEvents(500);
      if (events.length === 0) return;
      const deliveries: { eventId: number; alert: string }[] = [];
      for (const e of events) {
        if (now.getTime() - e.at.getTime() > maxAge) continue;
        for (const rule of this.o.rules) if (this.matches(rule, e)) deliveries.push({ eventId: e.id, alert: rule.name });
      }
      await this.o.alerts.fanOut(
        events.map((e) => e.id),
        deliveries,
        now,
      );
      if (events.length < 500) return;
    }
  }

  private scrub(err: unknown): unknown {
    const secrets = this.o.rules.flatMap((r) => webhookSecrets(r.webhook));
    if (err instanceof Error) return { message: redact(err.message, secrets), name: err.name };
    return redact(String(err), secrets);
  }

  /** POSTs one message to a rule's webhook: ok, or why not (secrets redacted). */
  static async post(
    rule: AlertConfig,
    message: ReturnType<typeof alertMessage>,
    signal: AbortSignal,
  ): Promise<{ ok: true } | { ok: false; error: string; retryable: boolean }> {
    try {
      const res = await fetch(rule.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `sluice-alert-${message.alert}-${message.id}` },
        body: JSON.stringify(alertBody(rule.format, message)),
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true };
      return { ok: false, error: `HTTP ${res.status}`, retryable: res.status >= 500 || res.status === 408 || res.status === 429 };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { ok: false, error: redact(e.cause?.code ?? e.cause?.message ?? e.message, webhookSecrets(rule.webhook)), retryable: true };
    }
  }

  private async deliver(d: AlertDelivery, now: () => Date): Promise<boolean> {
    const rule = this.byName.get(d.alert);
    if (!rule) {
      await this.o.alerts.markRejected(d.id, `alert "${d.alert}" is no longer configured`);
      return true;
    }
    const message = alertMessage(d.alert, d.event, rule.dashboard_url ?? this.o.dashboardUrl ?? null);
    const result = await AlertDispatcher.post(rule, message, AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000)]));
    if (result.ok) {
      await this.o.alerts.markDelivered(d.id, now());
      this.o.logger.info({ alert: d.alert, event: d.event.event, delivery: d.id, webhook: redactWebhook(rule.webhook) }, 'alert delivered');
      return true;
    }
    const { error: failure, retryable } = result;
    if (this.abort.signal.aborted) {
      // Shutting down: leave it pending (claim expires) rather than count a try we cut short.
      return false;
    }
    if (!retryable) {
      await this.o.alerts.markRejected(d.id, failure);
      this.o.logger.error(
        { alert: d.alert, event: d.event.event, delivery: d.id, webhook: redactWebhook(rule.webhook), error: failure },
        'alert rejected by the receiver; not retried',
      );
      return true;
    }
    const base = rule.retry?.base_delay !== undefined ? parseDuration(rule.retry.base_delay) : (this.o.baseDelayMs ?? 1000);
    const max = rule.retry?.max_delay !== undefined ? parseDuration(rule.retry.max_delay) : (this.o.maxDelayMs ?? 300_000);
    const delay = Math.min(max, base * 2 ** Math.min(d.attempts, 20));
    await this.o.alerts.markRetry(d.id, new Date(now().getTime() + delay), failure);
    this.o.logger.warn(
      { alert: d.alert, event: d.event.event, delivery: d.id, webhook: redactWebhook(rule.webhook), error: failure, retry_in_ms: delay },
      'alert delivery failed; will retry',
    );
    return false;
  }
}
