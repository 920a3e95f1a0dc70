import { WORK_STATES, type WorkState } from '../../core/states.js';
import { html, type SafeHtml } from '../html.js';
import type { GraphEdge, LineageEntry, pipelineGraph } from '../lineage.js';
import { partitionLabel } from './pages.js';

/**
 * The pipeline graph as server-rendered SVG, in a layered layout: a pipeline's column is the
 * longest dependency path from a root, so every edge points right. Each node links to its
 * grid and carries its counts by state; each edge is labelled with its mapping. Colours come
 * from classes in dashboard.css (the CSP allows no inline styles).
 */
const NODE_W = 300;
const NODE_H = 54;
const GAP_X = 220;
const GAP_Y = 26;
const PAD = 20;

type Graph = ReturnType<typeof pipelineGraph>;
type Counts = Map<string, Partial<Record<WorkState, number>>>;

const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

export function layout(g: Graph): { pos: Map<string, { x: number; y: number }>; width: number; height: number } {
  const layers = new Map<number, string[]>();
  for (const n of g.nodes) layers.set(n.layer, [...(layers.get(n.layer) ?? []), n.pipeline]);
  const pos = new Map<string, { x: number; y: number }>();
  let tallest = 0;
  for (const [layer, names] of layers) {
    names.forEach((name, i) => pos.set(name, { x: PAD + layer * (NODE_W + GAP_X), y: PAD + i * (NODE_H + GAP_Y) }));
    tallest = Math.max(tallest, names.length);
  }
  const columns = Math.max(1, ...[...layers.keys()].map((l) => l + 1));
  return { pos, width: PAD * 2 + columns * NODE_W + (columns - 1) * GAP_X, height: PAD * 2 + tallest * NODE_H + Math.max(0, tallest - 1) * GAP_Y };
}

function countsText(c: Partial<Record<WorkState, number>> | undefined): string {
  if (!c) return 'no items';
  const parts = WORK_STATES.filter((s) => c[s]).map((s) => `${c[s]} ${s.toLowerCase()}`);
  return parts.length ? parts.join(' · ') : 'no items';
}

/** The state a node is coloured by: the one needing attention first. */
function nodeState(c: Partial<Record<WorkState, number>> | undefined): string {
  if (!c) return 'none';
  for (const s of ['FAILED', 'RUNNING', 'RETRY_WAIT', 'PENDING', 'WAITING', 'CANCELLED', 'COMPLETE'] as const) if (c[s]) return s;
  return 'none';
}

export function graphSvg(g: Graph, counts: Counts): SafeHtml {
  if (g.nodes.length === 0) return html`<p class="empty">No pipelines registered.</p>`;
  const { pos, width, height } = layout(g);
  // Edges into one box stack their labels above each other.
  const intoTarget = new Map<string, number>();
  const slot = new Map<GraphEdge, number>();
  for (const e of g.edges) {
    slot.set(e, intoTarget.get(e.to) ?? 0);
    intoTarget.set(e.to, (intoTarget.get(e.to) ?? 0) + 1);
  }
  const edge = (e: GraphEdge) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) return '';
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    // The label sits just before its target box: edges into different boxes never share it.
    return html`<g class="edge${e.auto ? ' auto' : ''}" data-from="${e.from}" data-to="${e.to}"><path d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}" marker-end="url(#arrow)"></path><text x="${x2 - 10}" y="${y2 - 7 - 13 * (slot.get(e) ?? 0)}" text-anchor="end">${e.mapping}${e.auto ? ' · auto' : ''}</text></g>`;
  };
  return html`<svg id="graph-svg" class="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="pipeline dependency graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"></path></marker></defs>
${g.edges.map(edge)}
${g.nodes.map((n) => {
  const p = pos.get(n.pipeline)!;
  const c = counts.get(n.pipeline);
  return html`<a class="node" href="/grid/${encodeURIComponent(n.pipeline)}" data-pipeline="${n.pipeline}"><title>${n.pipeline}${n.description ? ` — ${n.description}` : ''}</title><rect class="n-${nodeState(c)}" x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="6"></rect><text class="name" x="${p.x + 10}" y="${p.y + 21}">${clip(n.pipeline, 42)}</text><text class="counts" x="${p.x + 10}" y="${p.y + 40}">${clip(countsText(c), 48)}</text></a>`;
})}
</svg>`;
}

export function graphBody(g: Graph, counts: Counts): SafeHtml {
  return html`<h1>Pipeline graph <span class="sub">${g.nodes.length} pipelines · ${g.edges.length} dependencies</span></h1>
<p class="sub">Each box links to its partition grid; arrows run from upstream to downstream, labelled with the partition mapping (<b>auto</b>: enqueued whenever the upstream is).</p>
<section class="panel graph-wrap">${graphSvg(g, counts)}</section>
<section class="panel"><h2>Dependencies</h2><table id="edges"><thead><tr><th>upstream</th><th>downstream</th><th>mapping</th><th>auto</th></tr></thead><tbody>${
    g.edges.length === 0
      ? html`<tr><td class="empty" colspan="4">No dependencies.</td></tr>`
      : g.edges.map(
          (e) =>
            html`<tr><td><a href="/grid/${encodeURIComponent(e.from)}">${e.from}</a></td><td><a href="/grid/${encodeURIComponent(e.to)}">${e.to}</a></td><td>${e.mapping}</td><td>${e.auto ? 'yes' : 'no'}</td></tr>`,
        )
  }</tbody></table></section>`;
}

/** The item page's lineage panels (upstream and downstream partitions with their states). */
export function lineageRows(entries: LineageEntry[], none: string): SafeHtml {
  if (entries.length === 0) return html`<tr><td class="empty" colspan="4">${none}</td></tr>`;
  return html`${entries.map(
    (d) =>
      html`<tr><td><a href="/grid/${encodeURIComponent(d.pipeline)}">${d.pipeline}</a></td><td class="key">${d.item_id !== null ? html`<a href="/items/${d.item_id}">${partitionLabel(d.partition_key)}</a>` : partitionLabel(d.partition_key)}</td><td class="sub">${d.mapping}${d.auto ? ' · auto' : ''}</td><td>${
        d.state ? html`<span class="badge s-${d.state}">${d.state}</span>` : html`<span class="sub">not enqueued</span>`
      }</td></tr>`,
  )}`;
}
