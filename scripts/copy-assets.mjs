// Copies the non-TypeScript files the compiled code reads at run time (dashboard CSS/JS)
// next to it in dist/, at the same relative paths as under src/.
import { cpSync } from 'node:fs';

cpSync('src/api/dashboard/assets', 'dist/api/dashboard/assets', { recursive: true });
