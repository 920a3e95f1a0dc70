/** Escapes text for HTML element content and attribute values. Every user-supplied string
 * (partition values, errors, pipeline names) goes through this before it reaches a page. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
