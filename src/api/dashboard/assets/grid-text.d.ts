// Types for grid-text.js (plain JS so the browser can load the very same file).
import type { GridJson } from '../../grid.js';

export function gridSummary(g: GridJson): string;
export function cellTitle(g: GridJson, row: string, col: string, cell: GridJson['cells'][number][number]): string;
