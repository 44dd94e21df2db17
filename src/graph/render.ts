import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { WiretraceError } from '../errors.js';
import { displayName, formatCount, formatMs, formatPercent, formatRate } from './format.js';
import type { GraphEdge, GraphNode, ServiceGraph } from './types.js';

export interface RenderOptions {
  /** An edge whose p99 reaches this many milliseconds is drawn as slow. Default 500. */
  slowMs?: number;
  /** An edge failing at least this share of its requests is drawn as error-heavy. Default 0.05. */
  errorRatio?: number;
}

const PALETTE = {
  edge: '#7b8794',
  edgeLabel: '#3e4c59',
  warn: '#e67e22',
  error: '#d62728',
  slow: '#8e44ad',
  serviceFill: '#eef2f7',
  serviceLine: '#52606d',
  databaseFill: '#e6f4ea',
  databaseLine: '#2f855a',
  externalFill: '#ffffff',
  externalLine: '#9aa5b1',
} as const;

interface EdgeLook {
  color: string;
  width: number;
  /** Error-heavy or slow: its label is drawn in its colour and bold. */
  stands: boolean;
}

/**
 * Colour says what is wrong (red: error-heavy, orange: some errors, purple:
 * slow); width says how wrong, so a thick red edge is the first thing seen.
 */
function edgeLook(edge: GraphEdge, options: RenderOptions): EdgeLook {
  const slowMs = options.slowMs ?? 500;
  const errorRatio = options.errorRatio ?? 0.05;
  const ratio = edge.requests > 0 ? edge.errors / edge.requests : 0;
  const errorScore = ratio > 0 ? 0.3 + 0.7 * Math.min(1, ratio / 0.5) : 0;
  const p99 = edge.latency.p99;
  const latencyScore = p99 >= slowMs ? 0.4 + 0.6 * Math.min(1, Math.log10(p99 / slowMs)) : p99 >= slowMs / 5 ? 0.15 : 0;
  const width = Math.round((1.2 + 3.8 * Math.max(errorScore, latencyScore)) * 10) / 10;
  if (ratio >= errorRatio) return { color: PALETTE.error, width, stands: true };
  if (p99 >= slowMs) return { color: PALETTE.slow, width, stands: true };
  if (ratio > 0) return { color: PALETTE.warn, width, stands: false };
  return { color: PALETTE.edge, width, stands: false };
}

function edgeLines(edge: GraphEdge): string[] {
  const errors = edge.errors > 0 ? `${formatCount(edge.errors)} err (${formatPercent(edge.errors, edge.requests)})` : '0 err';
  return [`${formatRate(edge.ratePerSecond)} req/s · ${errors}`, `p99 ${formatMs(edge.latency.p99)}`];
}

function nodeLines(node: GraphNode): string[] {
  const lines = [displayName(node.name)];
  if (node.requests > 0) {
    lines.push(`${formatCount(node.requests)} req${node.errors > 0 ? ` · ${formatCount(node.errors)} err` : ''}`);
  }
  return lines;
}

function windowLine(graph: ServiceGraph): string {
  const ms = graph.window.end - graph.window.start;
  const requests = graph.edges.reduce((a, e) => a + e.requests, 0);
  return `service graph · ${graph.nodes.length} nodes · ${formatCount(requests)} requests over ${formatMs(ms)}`;
}

/** Node ids in DOT and Mermaid are positional ("n0", "n1", ...), so no name ever has to be an identifier. */
function positionalIds(graph: ServiceGraph): Map<string, string> {
  const ids = new Map<string, string>();
  graph.nodes.forEach((n, i) => ids.set(n.id, `n${i}`));
  return ids;
}

// ---------------------------------------------------------------- DOT

/**
 * A DOT double-quoted string for an escString attribute (label). Graphviz
 * reads "\\" as one backslash and decodes HTML entities in plain labels
 * too, so "&" is written as "&amp;" to stay itself.
 */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/&/g, '&amp;')}"`;
}

function dotLabel(lines: string[]): string {
  // Lines are joined with the escString newline after each line is escaped on its own.
  const escaped = lines.map((l) => dotString(l).slice(1, -1));
  return `"${escaped.join('\\n')}"`;
}

export function toDot(graph: ServiceGraph, options: RenderOptions = {}): string {
  const ids = positionalIds(graph);
  const out: string[] = [];
  out.push('digraph wiretrace {');
  out.push(
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, fontcolor="${PALETTE.edgeLabel}", nodesep=0.6, ranksep=1.3, pad=0.4, labelloc=t, label=${dotString(windowLine(graph))}];`,
  );
  out.push(
    `  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", fillcolor="${PALETTE.serviceFill}", color="${PALETTE.serviceLine}", penwidth=1.3, margin="0.22,0.12"];`,
  );
  out.push(`  edge [fontname="Helvetica", fontsize=9, fontcolor="${PALETTE.edgeLabel}", color="${PALETTE.edge}", arrowsize=0.7];`);
  const errorRatio = options.errorRatio ?? 0.05;
  for (const node of graph.nodes) {
    const attrs = [`label=${dotLabel(nodeLines(node))}`];
    if (node.kind === 'database') {
      attrs.push('shape=cylinder', 'style=filled', `fillcolor="${PALETTE.databaseFill}"`, `color="${PALETTE.databaseLine}"`);
    } else if (node.kind === 'external') {
      attrs.push('style="rounded,dashed,filled"', `fillcolor="${PALETTE.externalFill}"`, `color="${PALETTE.externalLine}"`);
    }
    if (node.requests > 0 && node.errors / node.requests >= errorRatio) attrs.push(`color="${PALETTE.error}"`, 'penwidth=2.2');
    out.push(`  ${ids.get(node.id)} [${attrs.join(', ')}];`);
  }
  for (const edge of graph.edges) {
    const look = edgeLook(edge, options);
    const attrs = [`label=${dotLabel(edgeLines(edge))}`, `color="${look.color}"`, `penwidth=${look.width}`];
    if (look.stands) attrs.push(`fontcolor="${look.color}"`, 'fontname="Helvetica-Bold"');
    out.push(`  ${ids.get(edge.from)} -> ${ids.get(edge.to)} [${attrs.join(', ')}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- Mermaid

/**
 * Text inside a Mermaid quoted label. Mermaid turns "#name;" and "#123;"
 * into HTML entities before parsing, so every character that means
 * something to Mermaid, to its directive scanner ("%%{"), to its entity
 * pre-pass (which trims the ';' after "style…:…#…") or to the HTML the label
 * becomes is written as a numeric entity code (':' included); letters,
 * digits and plain punctuation pass through.
 */
export function mermaidText(text: string): string {
  let out = '';
  for (const ch of text) {
    if (/^[\p{L}\p{N} _.,/@+=\u00b7-]$/u.test(ch)) out += ch;
    else out += `#${ch.codePointAt(0)};`;
  }
  return out;
}

function mermaidLabel(lines: string[]): string {
  return `"${lines.map(mermaidText).join('<br/>')}"`;
}

export function toMermaid(graph: ServiceGraph, options: RenderOptions = {}): string {
  const ids = positionalIds(graph);
  const out: string[] = ['flowchart LR'];
  const byKind: Record<GraphNode['kind'], string[]> = { service: [], database: [], external: [] };
  const errorRatio = options.errorRatio ?? 0.05;
  const failingNodes: string[] = [];
  for (const node of graph.nodes) {
    const id = ids.get(node.id) as string;
    const label = mermaidLabel(nodeLines(node));
    out.push(node.kind === 'database' ? `  ${id}[(${label})]` : `  ${id}[${label}]`);
    byKind[node.kind].push(id);
    if (node.requests > 0 && node.errors / node.requests >= errorRatio) failingNodes.push(id);
  }
  const linkStyles: string[] = [];
  graph.edges.forEach((edge, i) => {
    out.push(`  ${ids.get(edge.from)} -->|${mermaidLabel(edgeLines(edge))}| ${ids.get(edge.to)}`);
    const look = edgeLook(edge, options);
    linkStyles.push(`  linkStyle ${i} stroke:${look.color},stroke-width:${look.width}px${look.stands ? `,color:${look.color}` : ''}`);
  });
  out.push(`  classDef service fill:${PALETTE.serviceFill},stroke:${PALETTE.serviceLine}`);
  out.push(`  classDef database fill:${PALETTE.databaseFill},stroke:${PALETTE.databaseLine}`);
  out.push(`  classDef external fill:${PALETTE.externalFill},stroke:${PALETTE.externalLine},stroke-dasharray:5 3`);
  out.push(`  classDef failing stroke:${PALETTE.error},stroke-width:2px`);
  for (const kind of ['service', 'database', 'external'] as const) {
    if (byKind[kind].length) out.push(`  class ${byKind[kind].join(',')} ${kind}`);
  }
  if (failingNodes.length) out.push(`  class ${failingNodes.join(',')} failing`);
  out.push(...linkStyles);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- JSON

export function toJson(graph: ServiceGraph): string {
  return JSON.stringify(graph, null, 2) + '\n';
}

// ---------------------------------------------------------------- SVG

interface GraphvizLike {
  layout(dotSource: string, outputFormat?: string, layoutEngine?: string): string;
}

let graphviz: Promise<GraphvizLike> | undefined;

/** Graphviz compiled to WebAssembly and shipped inside the npm package: nothing is fetched at run time. */
function loadGraphviz(): Promise<GraphvizLike> {
  graphviz ??= import('@hpcc-js/wasm-graphviz').then((m) => m.Graphviz.load());
  return graphviz;
}

export async function toSvg(graph: ServiceGraph, options: RenderOptions = {}): Promise<string> {
  const gv = await loadGraphviz();
  return gv.layout(toDot(graph, options), 'svg', 'dot');
}

// ---------------------------------------------------------------- files

export type GraphFormat = 'dot' | 'mermaid' | 'json' | 'svg';

const FORMAT_BY_EXTENSION: Record<string, GraphFormat> = {
  '.dot': 'dot',
  '.gv': 'dot',
  '.mmd': 'mermaid',
  '.json': 'json',
  '.svg': 'svg',
};

/** The format a --graph path names; throws WT_ERR_USAGE for any other extension (call it before reading a capture). */
export function graphFormatFromPath(path: string): GraphFormat {
  const format = FORMAT_BY_EXTENSION[extname(path).toLowerCase()];
  if (!format) {
    throw new WiretraceError(
      'WT_ERR_USAGE',
      `--graph ${path}: unknown graph format "${extname(path) || '(no extension)'}"; use one of ${Object.keys(FORMAT_BY_EXTENSION).join(' ')}`,
    );
  }
  return format;
}

export async function renderGraph(graph: ServiceGraph, format: GraphFormat, options: RenderOptions = {}): Promise<string> {
  switch (format) {
    case 'dot':
      return toDot(graph, options);
    case 'mermaid':
      return toMermaid(graph, options);
    case 'json':
      return toJson(graph);
    case 'svg':
      return toSvg(graph, options);
  }
}

/** Writes the graph in the format its file extension names. */
export async function writeGraph(graph: ServiceGraph, path: string, options: RenderOptions = {}): Promise<void> {
  const text = await renderGraph(graph, graphFormatFromPath(path), options);
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new WiretraceError('WT_ERR_OUTPUT', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}
