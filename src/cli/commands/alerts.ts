import type { Command } from 'commander';
import { NotFoundError } from '../../core/errors.js';
import { AlertDispatcher } from '../../engine/alerts/dispatcher.js';
import { alertMessage, redactWebhook } from '../../engine/alerts/webhook.js';
import { printJson, withApp } from '../context.js';

/** `sluice alerts test NAME`: one test message to the alert's webhook, now, with the answer. */
export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('Alert webhooks (config "alerts")');
  alerts
    .command('test')
    .description("POST a test message to an alert's webhook now and report the answer (exit 1 if it is not 2xx)")
    .argument('<name>', 'alert name from the config')
    .option('--json', 'print JSON')
    .action(async (name: string, opts, command: Command) => {
      await withApp(
        command,
        async (app) => {
          const rule = app.config.alerts.find((a) => a.name === name);
          if (!rule) {
            const err = new NotFoundError('alert', name);
            err.message = `alert ${JSON.stringify(name)} not found (known: ${app.config.alerts.map((a) => a.name).join(', ') || 'none configured'})`;
            throw err;
          }
          const message = alertMessage(
            name,
            { id: 0, event: 'test', domain: null, pipeline: null, partitionKey: null, itemId: null, schedule: null, error: null, at: new Date() },
            rule.dashboard_url ?? `http://${app.config.api.host}:${app.config.api.port}/`,
          );
          const result = await AlertDispatcher.post(rule, message, AbortSignal.timeout(10_000));
          const webhook = redactWebhook(rule.webhook);
          if (opts.json) printJson({ alert: name, webhook, format: rule.format, ok: result.ok, error: result.ok ? null : result.error });
          else
            process.stdout.write(result.ok ? `alert ${name}: test message delivered to ${webhook}\n` : `alert ${name}: ${webhook} answered ${result.error}\n`);
          if (!result.ok) process.exitCode = 1;
        },
        { logLevel: 'warn' },
      );
    });
}
