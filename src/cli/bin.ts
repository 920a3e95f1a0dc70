#!/usr/bin/env node
// The installed `sluice` command: the compiled CLI. No TypeScript loader is involved, so a
// command starts as fast as Node itself allows; `bin/sluice.js` is the development twin
// that runs the sources through tsx.
import { main } from './entry.js';

await main(process.argv);
