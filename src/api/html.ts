/** Escapes text for HTML element content and attribute values. Every user-supplied string
 * (partition values, errors, pipeline names) goes through this before it reaches a page. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup that is already safe (built by `html`), as opposed to text that must be escaped. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/**
 * Tagged template for pages: every interpolated value is escaped with `escapeHtml` unless it
 * is itself `SafeHtml` (the result of another `html` template). Arrays are joined; null,
 * undefined and false render as nothing. So `html\`<td>${item.partitionKey}</td>\`` is safe
 * by construction, and the only way to inject markup is to write it in a template literal.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += renderValue(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

function renderValue(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}
