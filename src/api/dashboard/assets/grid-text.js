// The grid's summary line and cell tooltips, for the page the server renders (pages.ts) and
// for the browser's re-render on each poll (page-grid.js): plain JS so both load this file.

export function gridSummary(g) {
  const parts = [`${g.total_items} items`];
  parts.push(`rows: ${g.row_key || '—'} ${g.total_rows ? `${g.offset + 1}–${g.offset + g.rows.length} of ${g.total_rows}` : ''}`.trim());
  if (g.col_key)
    parts.push(`columns: ${g.col_key} ${g.total_columns ? `${g.col_offset + 1}–${g.col_offset + g.columns.length} of ${g.total_columns}` : ''}`.trim());
  if (g.folded_keys.length) parts.push(`folded into cells: ${g.folded_keys.join(', ')}`);
  if (g.truncated) parts.push('truncated: too many items to scan');
  return parts.join(' · ');
}

export function cellTitle(g, row, col, cell) {
  const where = [g.row_key ? `${g.row_key}=${row}` : null, g.col_key ? `${g.col_key}=${col}` : null].filter(Boolean).join(', ');
  if (!cell) return `${where}: no item`;
  if (cell.count === 1) return `${where}: ${cell.state}`;
  return `${where}: ${Object.entries(cell.counts)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ')}`;
}
