import { ApiError, getJson, type Dependency, type GraphEdge, type GraphNode, type LiveSummary, type ServiceGraph } from './api.js';
import { add, clear, h, s } from './dom.js';
import { formatMs, formatRate, serviceColour } from './format.js';
import { edgeKey, layered } from './layout.js';
import type { App, View } from './main.js';
import { LOOKBACKS, lookbackMicros } from './model.js';

const NODE_W = 210;
const NODE_H = 64;
const COL_GAP = 150;
const ROW_GAP = 40;
const PAD = 28;
/** Live traces redraw the map at most this often. */
const LIVE_REFRESH_MS = 2000;

const ERROR_COLOUR = '#dc2626';
const EDGE_COLOUR = '#64748b';

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The service map: wiretrace's service graph (/api/graph) laid out left to
 * right from callers to callees, each edge with its rate, errors and p99,
 * each node and edge a link to the traces behind it. Servers without
 * /api/graph get Jaeger's /api/dependencies (call counts only).
 */
export class ServiceMapView implements View {
  readonly element: HTMLElement;
  readonly #app: App;
  readonly #abort = new AbortController();
  readonly #content = h('div', { class: 'map-content' });
  readonly #lookback: string;
  #timer: number | undefined;

  constructor(app: App) {
    this.#app = app;
    const params = new URLSearchParams(location.search);
    this.#lookback = LOOKBACKS.some(([v]) => v === params.get('lookback') && v !== 'custom') ? (params.get('lookback') as string) : 'all';
    const select = h('select', { id: 'map-lookback', 'aria-label': 'Time range' }, ...LOOKBACKS.filter(([v]) => v !== 'custom').map(([v, label]) => h('option', { value: v, selected: v === this.#lookback }, label)));
    select.addEventListener('change', () => this.#app.navigate(select.value === 'all' ? '/map' : `/map?lookback=${select.value}`));
    this.element = h(
      'div',
      { class: 'map-view' },
      h('div', { class: 'map-head' }, h('h1', null, 'Service map'), h('span', { class: 'spacer' }), select, h('button', { type: 'button', class: 'btn btn-small', onclick: () => void this.#load() }, 'Refresh')),
      this.#content,
    );
    this.#content.append(h('p', { class: 'muted loading' }, 'Loading the service graph…'));
    void this.#load();
  }

  dispose(): void {
    this.#abort.abort();
    if (this.#timer !== undefined) window.clearTimeout(this.#timer);
  }

  onLive(_summaries: LiveSummary[]): void {
    this.#timer ??= window.setTimeout(() => {
      this.#timer = undefined;
      void this.#load();
    }, LIVE_REFRESH_MS);
  }

  #lookbackParam(): string {
    return lookbackMicros(this.#lookback) === undefined ? String(Date.now()) : this.#lookback;
  }

  async #load(): Promise<void> {
    let graph: ServiceGraph;
    let partial = false;
    try {
      try {
        graph = await getJson<ServiceGraph>(`/api/graph?lookback=${encodeURIComponent(this.#lookbackParam())}`, this.#abort.signal);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
        const back = lookbackMicros(this.#lookback);
        const deps = await getJson<Dependency[]>(`/api/dependencies?endTs=${Date.now()}&lookback=${back === undefined ? Date.now() : Math.round(back / 1000)}`, this.#abort.signal);
        graph = graphOfDependencies(deps);
        partial = true;
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      this.#app.showError(this.#content, err, () => void this.#load());
      return;
    }
    this.#render(graph, partial);
  }

  #tracesHref(query: Record<string, string>): string {
    const p = new URLSearchParams(query);
    if (this.#lookback !== 'all') p.set('lookback', this.#lookback);
    return `/search?${p}`;
  }

  #nodeHref(node: GraphNode): string {
    return node.kind === 'service' ? this.#tracesHref({ service: node.name }) : this.#tracesHref({ node: node.name });
  }

  #edgeHref(edge: GraphEdge): string {
    return this.#tracesHref({ from: edge.from, to: edge.to });
  }

  #render(graph: ServiceGraph, partial: boolean): void {
    clear(this.#content);
    if (graph.nodes.length === 0) {
      this.#content.append(
        h('div', { class: 'empty' }, h('p', null, h('strong', null, 'No services in this time range.')), h('p', { class: 'muted' }, 'The map fills in as spans arrive; try a wider time range.')),
      );
      return;
    }
    const seconds = (graph.window.end - graph.window.start) / 1000;
    add(
      this.#content,
      h(
        'p',
        { class: 'muted map-summary' },
        `${graph.nodes.length} node${graph.nodes.length === 1 ? '' : 's'}, ${graph.edges.length} edge${graph.edges.length === 1 ? '' : 's'}`,
        seconds > 0 ? ` · rates over the ${formatMs(seconds * 1000)} the spans cover` : '',
        graph.unknownCallers > 0 ? ` · ${graph.unknownCallers} request${graph.unknownCallers === 1 ? '' : 's'} from unknown callers` : '',
      ),
      partial ? h('p', { class: 'notice' }, 'This server offers only /api/dependencies: call counts, without rates, errors or latency.') : null,
      h('div', { class: 'map-canvas' }, this.#svg(graph, partial)),
      this.#edgeTable(graph, partial),
    );
  }

  #svg(graph: ServiceGraph, partial: boolean): SVGSVGElement {
    const layout = layered({ nodes: graph.nodes.map((n) => n.id), edges: graph.edges });
    const tallest = Math.max(...layout.layers.map((l) => l.length));
    // Room below for edges that curve back (cycles, calls within a column).
    const below = graph.edges.some((e) => e.from === e.to || layout.backEdges.has(edgeKey(e.from, e.to))) ? 40 : 0;
    const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP + below;
    const width = PAD * 2 + layout.layers.length * NODE_W + (layout.layers.length - 1) * COL_GAP;
    const box = new Map<string, { x: number; y: number }>();
    for (const [li, names] of layout.layers.entries()) {
      const colHeight = names.length * NODE_H + (names.length - 1) * ROW_GAP;
      const top = PAD + (tallest * NODE_H + (tallest - 1) * ROW_GAP - colHeight) / 2;
      names.forEach((n, row) => box.set(n, { x: PAD + li * (NODE_W + COL_GAP), y: top + row * (NODE_H + ROW_GAP) }));
    }

    // Ports: edges leave and enter a node spread over its side, ordered by the other end's height.
    const outgoing = new Map<string, GraphEdge[]>();
    const incoming = new Map<string, GraphEdge[]>();
    for (const e of graph.edges) {
      if (!outgoing.has(e.from)) outgoing.set(e.from, []);
      if (!incoming.has(e.to)) incoming.set(e.to, []);
      outgoing.get(e.from)?.push(e);
      incoming.get(e.to)?.push(e);
    }
    const port = (list: GraphEdge[] | undefined, e: GraphEdge, other: (e: GraphEdge) => string): number => {
      if (!list || list.length < 2) return 0;
      const sorted = list.slice().sort((a, b) => (box.get(other(a))?.y ?? 0) - (box.get(other(b))?.y ?? 0));
      const i = sorted.indexOf(e);
      const step = Math.min(12, (NODE_H - 16) / (list.length - 1));
      return (i - (list.length - 1) / 2) * step;
    };

    const edgesLayer = s('g', { class: 'map-edges' });
    const labelsLayer = s('g', { class: 'map-labels' });
    for (const e of graph.edges) {
      const a = box.get(e.from);
      const b = box.get(e.to);
      if (!a || !b) continue;
      const colour = e.errors > 0 ? ERROR_COLOUR : EDGE_COLOUR;
      let d: string;
      let mid: { x: number; y: number };
      if (e.from === e.to) {
        const x = a.x + NODE_W - 30;
        const y = a.y;
        d = `M ${x} ${y} C ${x} ${y - 40}, ${x + 50} ${y - 40}, ${x + 30} ${y}`;
        mid = { x: x + 20, y: y - 32 };
      } else if (layout.backEdges.has(edgeKey(e.from, e.to))) {
        const sx = a.x + NODE_W / 2;
        const sy = a.y + NODE_H;
        const tx = b.x + NODE_W / 2 + 12;
        const ty = b.y + NODE_H;
        const dip = Math.max(sy, ty) + 36;
        d = `M ${sx} ${sy} C ${sx} ${dip}, ${tx} ${dip}, ${tx} ${ty + 2}`;
        mid = { x: (sx + tx) / 2, y: dip - 9 };
      } else {
        const sx = a.x + NODE_W;
        const sy = a.y + NODE_H / 2 + port(outgoing.get(e.from), e, (x) => x.to);
        const tx = b.x - 2;
        const ty = b.y + NODE_H / 2 + port(incoming.get(e.to), e, (x) => x.from);
        const dx = (tx - sx) / 2;
        d = `M ${sx} ${sy} C ${sx + dx} ${sy}, ${tx - dx} ${ty}, ${tx} ${ty}`;
        mid = { x: (sx + tx) / 2, y: (sy + ty) / 2 };
      }
      const widthPx = 1.5 + Math.min(3.5, Math.log10(e.requests + 1) * 1.4);
      const title = partial ? `${e.from} → ${e.to}: ${e.requests} calls` : `${e.from} → ${e.to}: ${e.requests} requests, ${formatRate(e.ratePerSecond)}, ${e.errors} errors, p50 ${formatMs(e.latency.p50)}, p99 ${formatMs(e.latency.p99)}`;
      const label = partial ? [`${e.requests} calls`] : [`${formatRate(e.ratePerSecond)} · p99 ${formatMs(e.latency.p99)}`, ...(e.errors > 0 ? [`${e.errors} error${e.errors === 1 ? '' : 's'} (${Math.round((e.errors / Math.max(1, e.requests)) * 100)}%)`] : [])];
      edgesLayer.append(
        s(
          'a',
          { href: this.#edgeHref(e), class: `map-edge${e.errors > 0 ? ' has-error' : ''}`, 'data-from': e.from, 'data-to': e.to, 'aria-label': title },
          s('title', null, title),
          s('path', { d, class: 'edge-hit', fill: 'none', stroke: 'transparent', 'stroke-width': '14' }),
          s('path', { d, class: 'edge-line', fill: 'none', stroke: colour, 'stroke-width': widthPx.toFixed(1), 'marker-end': `url(#arrow-${e.errors > 0 ? 'error' : 'ok'})` }),
        ),
      );
      const lineHeight = 14;
      const labelWidth = Math.max(...label.map((l) => l.length)) * 6.4 + 12;
      const labelHeight = label.length * lineHeight + 6;
      labelsLayer.append(
        s(
          'g',
          { class: 'edge-label', transform: `translate(${mid.x - labelWidth / 2} ${mid.y - labelHeight / 2})`, 'aria-hidden': 'true' },
          s('rect', { width: labelWidth.toFixed(0), height: String(labelHeight), rx: '4', class: 'edge-label-bg' }),
          label.map((line, i) => s('text', { x: String(labelWidth / 2), y: String(4 + lineHeight * (i + 1) - 3), 'text-anchor': 'middle', class: i === 1 ? 'edge-label-error' : undefined }, line)),
        ),
      );
    }

    const nodesLayer = s('g', { class: 'map-nodes' });
    for (const n of graph.nodes) {
      const at = box.get(n.id);
      if (!at) continue;
      const callsMade = (outgoing.get(n.id) ?? []).reduce((sum, e) => sum + e.requests, 0);
      // A caller known only by its address serves nothing: what it sent is what there is to say.
      const stats = partial ? n.kind : n.requests === 0 && callsMade > 0 ? `${callsMade} calls made` : `${n.requests} req · ${n.errors} err · p99 ${formatMs(n.latency.p99)}`;
      const title = `${n.name} (${n.kind})${partial ? '' : `: ${n.requests} requests served, ${n.errors} errors, p50 ${formatMs(n.latency.p50)}, p99 ${formatMs(n.latency.p99)}`}`;
      nodesLayer.append(
        s(
          'a',
          { href: this.#nodeHref(n), class: `map-node kind-${n.kind}${n.errors > 0 ? ' has-error' : ''}`, 'data-node': n.id, 'aria-label': title, transform: `translate(${at.x} ${at.y})` },
          s('title', null, title),
          s('rect', { width: String(NODE_W), height: String(NODE_H), rx: n.kind === 'database' ? '18' : '8', class: 'node-box' }),
          s('rect', { width: '6', height: String(NODE_H - 16), x: '8', y: '8', rx: '3', fill: n.kind === 'service' ? serviceColour(n.name) : '#94a3b8' }),
          s('text', { x: '22', y: '24', class: 'node-name' }, truncate(n.name, 24)),
          s('text', { x: '22', y: '42', class: 'node-kind' }, n.kind === 'service' ? 'service' : n.kind),
          s('text', { x: '22', y: '56', class: `node-stats${n.errors > 0 ? ' has-error' : ''}` }, stats),
        ),
      );
    }

    const marker = (id: string, colour: string): SVGMarkerElement =>
      s('marker', { id, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: colour }));
    return s(
      'svg',
      { class: 'map-svg', style: { maxWidth: `${width}px` }, width: String(width), height: String(height), viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Service map: ${graph.nodes.length} nodes, ${graph.edges.length} edges` },
      s('defs', null, marker('arrow-ok', EDGE_COLOUR), marker('arrow-error', ERROR_COLOUR)),
      edgesLayer,
      nodesLayer,
      labelsLayer,
    );
  }

  #edgeTable(graph: ServiceGraph, partial: boolean): HTMLElement {
    const head = partial ? ['From', 'To', 'Calls'] : ['From', 'To', 'Requests', 'Rate', 'Errors', 'p50', 'p99'];
    return h(
      'section',
      { class: 'edge-table-wrap', 'aria-label': 'Edges' },
      h('h2', null, 'Calls'),
      h(
        'table',
        { class: 'edge-table' },
        h('thead', null, h('tr', null, head.map((c, i) => h('th', { scope: 'col', class: i >= 2 ? 'num' : undefined }, c)))),
        h(
          'tbody',
          null,
          graph.edges.map((e) =>
            h(
              'tr',
              { class: e.errors > 0 ? 'has-error' : undefined, 'data-from': e.from, 'data-to': e.to },
              h('td', null, e.from),
              h('td', null, e.to),
              h('td', { class: 'num' }, h('a', { href: this.#edgeHref(e), title: 'Traces over this edge' }, String(e.requests))),
              partial
                ? null
                : [
                    h('td', { class: 'num' }, formatRate(e.ratePerSecond)),
                    h('td', { class: `num${e.errors > 0 ? ' error-text' : ''}` }, String(e.errors)),
                    h('td', { class: 'num' }, formatMs(e.latency.p50)),
                    h('td', { class: 'num' }, formatMs(e.latency.p99)),
                  ],
            ),
          ),
        ),
      ),
    );
  }
}

function graphOfDependencies(deps: Dependency[]): ServiceGraph {
  const zero = { p50: 0, p90: 0, p99: 0 };
  const names = new Set<string>();
  for (const d of deps) names.add(d.parent).add(d.child);
  return {
    nodes: [...names].sort().map((name) => ({ id: name, name, kind: 'service' as const, requests: 0, errors: 0, latency: zero })),
    edges: deps.map((d) => ({ from: d.parent, to: d.child, requests: d.callCount, errors: 0, ratePerSecond: 0, latency: zero, bytesSent: 0, bytesReceived: 0 })),
    window: { start: 0, end: 0 },
    unknownCallers: 0,
    dropped: { nodeLimit: 0, edgeLimit: 0, pendingLimit: 0 },
  };
}
