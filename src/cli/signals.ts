/**
 * First SIGINT/SIGTERM: graceful stop (finish or hand back running items). Second: stop
 * now (running items are aborted and handed back at once).
 */
export function onShutdownSignals(stop: (immediate: boolean) => Promise<void>): void {
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count++;
    process.stderr.write(count === 1 ? `sluice: ${signal}: shutting down gracefully (send again to stop now)\n` : `sluice: ${signal}: stopping now\n`);
    void stop(count > 1);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
