import { ApiError, getJson, type KeyValue, type Trace } from './api.js';
import { add, clear, h } from './dom.js';
import { formatDuration, formatTimestamp, niceTicks, serviceColour } from './format.js';
import type { App, View } from './main.js';
import { buildTree, tagValue, type SpanNode, type TraceTree } from './model.js';

const ROW_HEIGHT = 28;
/** Rows drawn beyond the visible ones, so fast scrolling does not show blanks. */
const OVERSCAN = 20;

/**
 * One trace as a waterfall: a row per span in tree order on the trace's
 * time axis, subtrees collapsible, the selected span's attributes, process
 * and events beside it. Only the rows in view are in the DOM, so a trace
 * of thousands of spans scrolls as lightly as a small one.
 */
export class TraceView implements View {
  readonly element: HTMLElement;
  readonly #app: App;
  readonly #traceId: string;
  readonly #abort = new AbortController();
  #tree: TraceTree | undefined;
  #trace: Trace | undefined;
  readonly #collapsed = new Set<SpanNode>();
  #visible: SpanNode[] = [];
  #selected: SpanNode | undefined;
  #focusIndex = 0;
  readonly #body = h('div', { class: 'wf-body', role: 'tree', 'aria-label': 'Spans', tabindex: '-1' });
  readonly #canvas = h('div', { class: 'wf-canvas' });
  readonly #detail = h('aside', { class: 'span-detail', 'aria-label': 'Span details' });
  #frame = 0;
  #grid: HTMLElement | undefined;

  constructor(app: App, traceId: string) {
    this.#app = app;
    this.#traceId = traceId;
    this.element = h('div', { class: 'trace-view' }, h('p', { class: 'muted loading' }, 'Loading trace…'));
    this.#body.append(this.#canvas);
    this.#body.addEventListener('scroll', () => this.#schedule());
    this.#body.addEventListener('keydown', (e) => this.#onKey(e));
    this.#body.addEventListener('click', (e) => this.#onClick(e));
    this.#body.addEventListener('focusin', (e) => {
      const row = (e.target as Element).closest<HTMLElement>('.wf-row');
      if (row) this.#focusIndex = Number(row.dataset.index);
    });
    window.addEventListener('resize', this.#onResize);
    void this.#load();
  }

  dispose(): void {
    this.#abort.abort();
    window.removeEventListener('resize', this.#onResize);
    cancelAnimationFrame(this.#frame);
  }

  readonly #onResize = (): void => this.#schedule();

  async #load(): Promise<void> {
    try {
      const [trace] = await getJson<Trace[]>(`/api/traces/${encodeURIComponent(this.#traceId)}`, this.#abort.signal);
      this.#trace = trace;
      this.#tree = buildTree(trace);
      this.#render();
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      clear(this.element);
      this.element.append(h('p', null, h('a', { href: '/search' }, '← Search')));
      const box = h('div');
      this.element.append(box);
      if (err instanceof ApiError && err.status === 404) {
        box.append(h('div', { class: 'notice notice-error', role: 'alert' }, h('strong', null, 'Trace not found: '), h('span', { class: 'mono' }, this.#traceId), ' is not in the store (never received, or evicted by its limits).'));
        return;
      }
      this.#app.showError(box, err, () => {
        clear(this.element);
        this.element.append(h('p', { class: 'muted loading' }, 'Loading trace…'));
        void this.#load();
      });
    }
  }

  #render(): void {
    const tree = this.#tree as TraceTree;
    const root = tree.roots[0];
    const total = tree.endUs - tree.startUs;
    clear(this.element);
    this.element.append(
      h(
        'header',
        { class: 'trace-head' },
        h('a', { href: '/search', class: 'back', onclick: (e: MouseEvent) => this.#back(e) }, '← Search'),
        h('h1', null, h('span', { class: 'svc-dot', style: { background: serviceColour(root?.service ?? '') } }), h('strong', null, root?.service ?? ''), ': ', root?.span.operationName ?? ''),
        h(
          'dl',
          { class: 'trace-facts' },
          fact('Trace ID', h('span', { class: 'mono', id: 'trace-id' }, tree.traceId)),
          fact('Start', formatTimestamp(tree.startUs)),
          fact('Duration', formatDuration(total)),
          fact('Services', String(tree.services.length)),
          fact('Depth', String(tree.depth)),
          fact('Spans', h('span', { id: 'span-count' }, String(tree.ordered.length))),
          tree.errorCount > 0 ? fact('Errors', h('span', { class: 'badge badge-error' }, String(tree.errorCount))) : null,
        ),
        h(
          'div',
          { class: 'trace-tools' },
          h('span', { class: 'legend' }, tree.services.map(([name, n]) => h('span', { class: 'svc-chip', style: { borderColor: serviceColour(name) } }, name, h('span', { class: 'svc-count' }, ` ${n}`)))),
          h('span', { class: 'spacer' }),
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.#collapseAll(false) }, 'Expand all'),
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.#collapseAll(true) }, 'Collapse all'),
        ),
      ),
      h('div', { class: 'trace-body' }, h('section', { class: 'waterfall', 'aria-label': 'Waterfall' }, this.#axis(total), this.#body), this.#detail),
    );
    this.#grid = h(
      'div',
      { class: 'wf-grid', 'aria-hidden': 'true' },
      h('div', { class: 'wf-name' }),
      h('div', { class: 'wf-grid-lane' }, niceTicks(total, 5).map((t) => h('span', { style: { left: `${total > 0 ? (t / total) * 100 : 0}%` } }))),
    );
    this.#selected = tree.ordered.find((n) => n.isError) ?? root;
    this.#renderDetail();
    this.#relist();
  }

  #back(e: MouseEvent): void {
    if (history.length > 1 && document.referrer.startsWith(location.origin)) {
      e.preventDefault();
      history.back();
    }
  }

  #axis(total: number): HTMLElement {
    const ticks = niceTicks(total, 5);
    return h(
      'div',
      { class: 'wf-axis-row', 'aria-hidden': 'true' },
      h('div', { class: 'wf-name wf-axis-label' }, 'Service · operation'),
      h(
        'div',
        { class: 'wf-axis' },
        ticks.map((t) => {
          const pct = total > 0 ? (t / total) * 100 : 0;
          return h('span', { class: `wf-tick${pct > 92 ? ' wf-tick-end' : ''}`, style: { left: `${pct}%` } }, t === 0 ? '0' : formatDuration(t));
        }),
      ),
    );
  }

  #collapseAll(collapse: boolean): void {
    this.#collapsed.clear();
    if (collapse) for (const n of (this.#tree as TraceTree).ordered) if (n.children.length > 0 && n.depth > 0) this.#collapsed.add(n);
    this.#relist();
  }

  /** The rows shown: tree order, skipping the descendants of collapsed spans. */
  #relist(): void {
    const visible: SpanNode[] = [];
    const ordered = (this.#tree as TraceTree).ordered;
    for (let i = 0; i < ordered.length; i++) {
      const node = ordered[i];
      visible.push(node);
      if (this.#collapsed.has(node)) {
        // descendants follow contiguously in tree order
        while (i + 1 < ordered.length && ordered[i + 1].depth > node.depth) i++;
      }
    }
    this.#visible = visible;
    this.#body.setAttribute('aria-rowcount', String(visible.length));
    this.#canvas.style.height = `${visible.length * ROW_HEIGHT}px`;
    this.#focusIndex = Math.min(this.#focusIndex, visible.length - 1);
    this.#draw();
  }

  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  }

  #draw(): void {
    const tree = this.#tree;
    if (!tree) return;
    const total = Math.max(1, tree.endUs - tree.startUs);
    const viewHeight = this.#body.clientHeight || window.innerHeight;
    const first = Math.max(0, Math.floor(this.#body.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.#visible.length, Math.ceil((this.#body.scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);
    const hadFocus = this.#body.contains(document.activeElement) && document.activeElement !== this.#body;
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.append(this.#row(this.#visible[i], i, total, tree.startUs));
    clear(this.#canvas);
    if (this.#grid) this.#canvas.append(this.#grid);
    this.#canvas.append(fragment);
    if (hadFocus) this.#rowAt(this.#focusIndex)?.focus({ preventScroll: true });
  }

  #row(node: SpanNode, i: number, total: number, traceStart: number): HTMLElement {
    const span = node.span;
    const left = ((span.startTime - traceStart) / total) * 100;
    const width = Math.max((span.duration / total) * 100, 0.2);
    const colour = serviceColour(node.service);
    const hasChildren = node.children.length > 0;
    const collapsed = this.#collapsed.has(node);
    // The duration goes after the bar, else before it, else (a bar across the axis) inside it.
    const placement = left + width <= 78 ? 'after' : left >= 14 ? 'before' : 'inside';
    return h(
      'div',
      {
        class: `wf-row${node.isError ? ' is-error' : ''}${node === this.#selected ? ' is-selected' : ''}`,
        role: 'treeitem',
        'aria-level': String(node.depth + 1),
        'aria-expanded': hasChildren ? String(!collapsed) : undefined,
        'aria-selected': String(node === this.#selected),
        'aria-label': `${node.service} ${span.operationName}, ${formatDuration(span.duration)}${node.isError ? ', error' : ''}`,
        tabindex: i === this.#focusIndex ? '0' : '-1',
        'data-index': String(i),
        'data-span-id': span.spanID,
        style: { top: `${i * ROW_HEIGHT}px` },
      },
      h(
        'div',
        { class: 'wf-name', style: { paddingLeft: `${6 + node.depth * 14}px` } },
        hasChildren
          ? h('button', { type: 'button', class: 'wf-toggle', tabindex: '-1', 'aria-label': collapsed ? 'Expand' : 'Collapse', 'data-toggle': '' }, collapsed ? '▸' : '▾')
          : h('span', { class: 'wf-toggle-space' }),
        h('span', { class: 'svc-bar', style: { background: colour } }),
        node.isError ? h('span', { class: 'err-icon', title: 'error' }, '!') : null,
        h('span', { class: 'wf-service' }, node.service),
        h('span', { class: 'wf-op', title: span.operationName }, span.operationName),
        collapsed ? h('span', { class: 'wf-hidden-count' }, `+${countDescendants(node)}`) : null,
      ),
      h(
        'div',
        { class: 'wf-lane' },
        h('span', { class: 'wf-bar', style: { left: `${left}%`, width: `${width}%`, background: colour } }),
        h(
          'span',
          { class: `wf-dur ${placement}`, style: placement === 'after' ? { left: `${left + width}%` } : placement === 'before' ? { right: `${100 - left}%` } : { right: `${100 - left - width}%` } },
          formatDuration(span.duration),
        ),
      ),
    );
  }

  #rowAt(index: number): HTMLElement | null {
    return this.#canvas.querySelector<HTMLElement>(`.wf-row[data-index="${index}"]`);
  }

  #onClick(e: MouseEvent): void {
    const row = (e.target as Element).closest<HTMLElement>('.wf-row');
    if (!row) return;
    const index = Number(row.dataset.index);
    const node = this.#visible[index];
    this.#focusIndex = index;
    if ((e.target as Element).closest('[data-toggle]')) {
      this.#toggle(node);
      return;
    }
    this.#select(node);
  }

  #toggle(node: SpanNode): void {
    if (this.#collapsed.has(node)) this.#collapsed.delete(node);
    else this.#collapsed.add(node);
    this.#relist();
    this.#rowAt(this.#focusIndex)?.focus({ preventScroll: true });
  }

  #select(node: SpanNode): void {
    this.#selected = node;
    this.#renderDetail();
    this.#draw();
    this.#rowAt(this.#focusIndex)?.focus({ preventScroll: true });
  }

  /** Arrows move, Left/Right collapse and expand (or go to the parent), Enter and Space show the details. */
  #onKey(e: KeyboardEvent): void {
    const node = this.#visible[this.#focusIndex];
    if (!node) return;
    let next = this.#focusIndex;
    switch (e.key) {
      case 'ArrowDown':
        next++;
        break;
      case 'ArrowUp':
        next--;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = this.#visible.length - 1;
        break;
      case 'PageDown':
        next += Math.floor(this.#body.clientHeight / ROW_HEIGHT);
        break;
      case 'PageUp':
        next -= Math.floor(this.#body.clientHeight / ROW_HEIGHT);
        break;
      case 'ArrowRight':
        if (this.#collapsed.has(node)) return void (e.preventDefault(), this.#toggle(node));
        if (node.children.length > 0) next++;
        break;
      case 'ArrowLeft':
        if (node.children.length > 0 && !this.#collapsed.has(node)) return void (e.preventDefault(), this.#toggle(node));
        if (node.parent) next = this.#visible.indexOf(node.parent);
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.#select(node);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.#focusIndex = Math.max(0, Math.min(this.#visible.length - 1, next));
    const top = this.#focusIndex * ROW_HEIGHT;
    if (top < this.#body.scrollTop) this.#body.scrollTop = top;
    else if (top + ROW_HEIGHT > this.#body.scrollTop + this.#body.clientHeight) this.#body.scrollTop = top + ROW_HEIGHT - this.#body.clientHeight;
    this.#draw();
    this.#rowAt(this.#focusIndex)?.focus({ preventScroll: true });
  }

  #renderDetail(): void {
    clear(this.#detail);
    const node = this.#selected;
    const tree = this.#tree as TraceTree;
    if (!node) {
      this.#detail.append(h('p', { class: 'muted' }, 'Select a span to see its attributes and events.'));
      return;
    }
    const span = node.span;
    const process = this.#trace?.processes[span.processID];
    const status = tagValue(span.tags, 'otel.status_code');
    const statusText = node.isError ? `ERROR${tagValue(span.tags, 'otel.status_description') ? ` — ${String(tagValue(span.tags, 'otel.status_description'))}` : ''}` : String(status ?? 'unset');
    add(
      this.#detail,
      h('h2', { id: 'detail-title' }, h('span', { class: 'svc-dot', style: { background: serviceColour(node.service) } }), node.service, ': ', span.operationName),
      node.isError ? h('p', { class: 'notice notice-error' }, 'This span is an error') : null,
      h(
        'dl',
        { class: 'detail-facts' },
        fact('Kind', String(tagValue(span.tags, 'span.kind') ?? '—')),
        fact('Start', `+${formatDuration(span.startTime - tree.startUs)}`),
        fact('Duration', formatDuration(span.duration)),
        fact('Status', statusText),
        fact('Span ID', h('span', { class: 'mono' }, span.spanID)),
        fact('Parent', h('span', { class: 'mono' }, node.parent?.span.spanID ?? '—')),
      ),
      section('Attributes', 'detail-attributes', kvTable(span.tags)),
      section('Process', 'detail-process', kvTable([{ key: 'service.name', type: 'string', value: process?.serviceName ?? node.service }, ...(process?.tags ?? [])])),
      span.logs.length > 0
        ? section(
            `Events (${span.logs.length})`,
            'detail-events',
            h(
              'ol',
              { class: 'events' },
              span.logs.map((log) =>
                h(
                  'li',
                  null,
                  h('div', { class: 'event-time mono' }, `+${formatDuration(log.timestamp - tree.startUs)}`, h('span', { class: 'muted' }, ` (span +${formatDuration(log.timestamp - span.startTime)})`)),
                  kvTable(log.fields),
                ),
              ),
            ),
          )
        : section('Events', 'detail-events', h('p', { class: 'muted' }, 'No events.')),
      span.references.length > 1 || span.references.some((r) => r.refType === 'FOLLOWS_FROM')
        ? section(
            'References',
            'detail-references',
            h(
              'ul',
              { class: 'refs' },
              span.references.map((r) => h('li', null, `${r.refType} `, h('a', { href: `/trace/${r.traceID}`, class: 'mono' }, `${r.traceID.slice(0, 8)}…/${r.spanID}`))),
            ),
          )
        : null,
      span.warnings && span.warnings.length > 0 ? section('Warnings', 'detail-warnings', h('ul', null, span.warnings.map((w) => h('li', null, w)))) : null,
    );
  }
}

function countDescendants(node: SpanNode): number {
  let n = 0;
  const stack = [...node.children];
  while (stack.length) {
    const c = stack.pop() as SpanNode;
    n++;
    stack.push(...c.children);
  }
  return n;
}

function fact(label: string, value: string | Node): HTMLElement[] {
  return [h('dt', null, label), h('dd', null, value)];
}

function section(title: string, id: string, body: HTMLElement): HTMLElement {
  return h('section', { class: 'detail-section', id }, h('h3', null, title), body);
}

function kvTable(tags: readonly KeyValue[]): HTMLElement {
  if (tags.length === 0) return h('p', { class: 'muted' }, 'None.');
  return h(
    'table',
    { class: 'kv' },
    h(
      'tbody',
      null,
      tags.map((t) =>
        h(
          'tr',
          { class: t.key === 'error' || t.key === 'otel.status_code' || t.key === 'otel.status_description' ? 'kv-status' : undefined },
          // Long dotted keys break after a dot rather than mid-word.
          h('th', { scope: 'row' }, t.key.split('.').map((part, i, all) => (i < all.length - 1 ? [`${part}.`, h('wbr')] : part))),
          h('td', { class: 'mono' }, String(t.value)),
        ),
      ),
    ),
  );
}
