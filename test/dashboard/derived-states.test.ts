// The dashboard's Retry / Cancel buttons follow the transition table: the page carries the
// states (derived in core/states.ts) and the browser script reads them from the page.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { page } from '../../src/api/dashboard/pages.js';
import { html } from '../../src/api/html.js';
import { CANCELLABLE_STATES, RETRYABLE_STATES, TRANSITIONS } from '../../src/core/states.js';

it('the page serves the retryable and cancellable states of the transition table', () => {
  expect(RETRYABLE_STATES).toEqual(TRANSITIONS.retry.from);
  expect(CANCELLABLE_STATES).toEqual(TRANSITIONS.cancel.from);
  const out = page({ title: 't', page: 'item', database: 'sqlite', authEnabled: false }, html`<p>x</p>`);
  expect(out).toContain(`data-retryable="${TRANSITIONS.retry.from.join(',')}"`);
  expect(out).toContain(`data-cancellable="${TRANSITIONS.cancel.from.join(',')}"`);
});

it('the browser scripts restate no state list for the operator actions', () => {
  const dir = new URL('../../src/api/dashboard/assets/', import.meta.url);
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.js'));
  const all = scripts.map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
  expect(all).toMatch(/RETRYABLE = \(document\.body\.dataset\.retryable/);
  expect(all).toMatch(/CANCELLABLE = \(document\.body\.dataset\.cancellable/);
  // No script spells the sets out as literals.
  for (const f of scripts) expect(readFileSync(new URL(f, dir), 'utf8'), f).not.toMatch(/(RETRYABLE|CANCELLABLE)\s*=\s*\[/);
});
