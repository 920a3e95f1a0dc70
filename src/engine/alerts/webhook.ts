import { redact } from '../../connectors/redact.js';
import type { AlertConfig } from '../../config/alerts-schema.js';
import type { AlertEvent } from '../../store/alert-store.js';

/** The parts of a webhook URL that may be secret: the password, every query value and every
 * path segment (Slack's /services/T…/B…/TOKEN is the secret itself). */
export function webhookSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [u.password, u.username, ...[...u.searchParams.values()], ...u.pathname.split('/').filter((s) => s.length >= 6)];
    return out.filter((s) => s.length > 0);
  } catch {
    return [url];
  }
}

/** A webhook URL fit for a log line: scheme, host and port, the rest redacted. */
export function redactWebhook(url: string): string {
  return redact(url, webhookSecrets(url));
}

export interface AlertMessage {
  id: number;
  alert: string;
  event: AlertEvent['event'];
  pipeline: string | null;
  schedule: string | null;
  partition: string | null;
  item_id: number | null;
  error: string | null;
  at: string;
  link: string | null;
}

export function alertMessage(alert: string, e: AlertEvent, dashboardUrl: string | null): AlertMessage {
  const base = dashboardUrl?.replace(/\/+$/, '') ?? null;
  return {
    id: e.id,
    alert,
    event: e.event,
    pipeline: e.domain && e.pipeline ? `${e.domain}.${e.pipeline}` : null,
    schedule: e.schedule,
    partition: e.partitionKey,
    item_id: e.itemId,
    error: e.error,
    at: e.at.toISOString(),
    link: base === null ? null : e.itemId !== null ? `${base}/items/${e.itemId}` : e.schedule ? `${base}/schedules` : `${base}/`,
  };
}

const TITLES: Record<string, string> = {
  failed: 'failed (attempts exhausted)',
  deadline_missed: 'missed its freshness deadline',
  schedule_missed: 'schedule tick missed',
  recovered: 'recovered',
  test: 'test alert',
};

/** The request body: the message itself (json) or a Slack incoming-webhook document. */
export function alertBody(format: AlertConfig['format'], m: AlertMessage): unknown {
  if (format === 'json') return m;
  const what = m.pipeline ? `${m.pipeline}${m.partition ? ` ${m.partition}` : ''}` : m.schedule ? `schedule ${m.schedule}` : 'Sluice';
  const lines = [`*${what}*: ${TITLES[m.event] ?? m.event}`, m.error ? `> ${m.error}` : null, `at ${m.at}`, m.link ? `<${m.link}|open in Sluice>` : null];
  return { text: lines.filter(Boolean).join('\n') };
}
