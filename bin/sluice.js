#!/usr/bin/env node
// Entry point for `npx sluice`. Sluice runs its TypeScript sources directly through tsx's
// ESM loader so a fresh clone needs no build step; `npm ci` is the whole install.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/entry.ts');
await main(process.argv);
