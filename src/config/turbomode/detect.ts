/** A TurboMode file is told apart by its task list: a Sluice config never has one. Apart from
 * the schemas (schema.ts), so telling needs no TurboMode code loaded. */
export function isTurboModeConfig(raw: unknown): boolean {
  return !!raw && typeof raw === 'object' && !Array.isArray(raw) && 'scheduled_tasks' in raw;
}
