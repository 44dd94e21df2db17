import { getJson, type LiveSummary, type Trace } from './api.js';
import { clear, h } from './dom.js';
import { formatAgo, formatDuration, formatTimestamp, serviceColour } from './format.js';
import type { App, View } from './main.js';
import { LOOKBACKS, lookbackMicros, parseDuration, parseTagFilter, rowOfSummary, rowOfTrace, shortTraceId, summaryMatches, type SearchState, type TraceRow } from './model.js';

const KEYS: Array<keyof SearchState> = ['service', 'operation', 'tags', 'lookback', 'start', 'end', 'minDuration', 'maxDuration', 'limit', 'from', 'to', 'node'];
const DEFAULT_LOOKBACK = 'all';
const DEFAULT_LIMIT = '20';

const SORTS: Array<[string, string, (a: TraceRow, b: TraceRow) => number]> = [
  ['recent', 'Most recent', (a, b) => b.startUs - a.startUs],
  ['longest', 'Longest first', (a, b) => b.durationUs - a.durationUs],
  ['shortest', 'Shortest first', (a, b) => a.durationUs - b.durationUs],
  ['spans', 'Most spans', (a, b) => b.spanCount - a.spanCount],
  ['errors', 'Most errors', (a, b) => b.errorCount - a.errorCount || b.startUs - a.startUs],
];

export function stateFromParams(params: URLSearchParams): SearchState {
  const state = {} as SearchState;
  for (const key of KEYS) state[key] = params.get(key) ?? '';
  if (!state.lookback) state.lookback = DEFAULT_LOOKBACK;
  if (!state.limit) state.limit = DEFAULT_LIMIT;
  return state;
}

function paramsOfState(state: SearchState, sort: string): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    const value = state[key].trim();
    if (!value) continue;
    if (key === 'lookback' && value === DEFAULT_LOOKBACK) continue;
    if (key === 'limit' && value === DEFAULT_LIMIT) continue;
    if ((key === 'start' || key === 'end') && state.lookback !== 'custom') continue;
    params.set(key, value);
  }
  if (sort !== 'recent') params.set('sort', sort);
  return params;
}

/** The API request for a search: the Jaeger trace search, or the traces behind a service-map edge or node. */
export function apiPathOf(state: SearchState, nowMs: number): string {
  const p = new URLSearchParams();
  if (state.from || state.node) {
    if (state.node) p.set('node', state.node);
    else {
      p.set('from', state.from);
      p.set('to', state.to);
    }
    if (state.lookback === 'custom') {
      const endMs = state.end ? Number(state.end) / 1000 : nowMs;
      p.set('endTs', String(Math.round(endMs)));
      p.set('lookback', String(Math.max(0, Math.round(endMs - (state.start ? Number(state.start) / 1000 : 0)))));
    } else {
      const back = lookbackMicros(state.lookback);
      p.set('lookback', back === undefined ? String(nowMs) : state.lookback);
    }
    p.set('limit', state.limit);
    return `/api/graph/traces?${p}`;
  }
  if (state.service) p.set('service', state.service);
  if (state.operation) p.set('operation', state.operation);
  const { pairs } = parseTagFilter(state.tags);
  if (pairs.length > 0) p.set('tags', JSON.stringify(Object.fromEntries(pairs)));
  if (state.lookback === 'custom') {
    if (state.start) p.set('start', state.start);
    if (state.end) p.set('end', state.end);
  } else if (lookbackMicros(state.lookback) !== undefined) {
    p.set('lookback', state.lookback);
  }
  if (state.minDuration) p.set('minDuration', state.minDuration.trim());
  if (state.maxDuration) p.set('maxDuration', state.maxDuration.trim());
  p.set('limit', state.limit);
  return `/api/traces?${p}`;
}

const toLocalInput = (us: string): string => {
  if (!us) return '';
  const d = new Date(Number(us) / 1000);
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 19);
};
const fromLocalInput = (v: string): string => (v ? String(new Date(v).getTime() * 1000) : '');

export class SearchView implements View {
  readonly element: HTMLElement;
  readonly #app: App;
  readonly #state: SearchState;
  #sort: string;
  #rows = new Map<string, TraceRow>();
  readonly #fresh = new Set<string>();
  readonly #maybe = new Set<string>();
  readonly #results = h('section', { class: 'results', 'aria-label': 'Search results', 'aria-live': 'polite' });
  readonly #abort = new AbortController();
  #loaded = false;

  constructor(app: App, params: URLSearchParams) {
    this.#app = app;
    this.#state = stateFromParams(params);
    this.#sort = SORTS.some(([k]) => k === params.get('sort')) ? (params.get('sort') as string) : 'recent';
    this.element = h('div', { class: 'search-view' }, this.#form(), this.#results);
    void this.#search();
  }

  dispose(): void {
    this.#abort.abort();
  }

  #form(): HTMLElement {
    const st = this.#state;
    const service = h('select', { id: 'f-service', name: 'service' }, h('option', { value: '' }, 'All services'));
    const operation = h('select', { id: 'f-operation', name: 'operation' }, h('option', { value: '' }, 'All operations'));
    const tags = h('textarea', { id: 'f-tags', name: 'tags', rows: '2', placeholder: 'http.response.status_code=502 error=true', spellcheck: 'false' });
    tags.value = st.tags;
    const lookback = h('select', { id: 'f-lookback', name: 'lookback' }, ...LOOKBACKS.map(([v, label]) => h('option', { value: v, selected: v === st.lookback }, label)));
    const start = h('input', { id: 'f-start', type: 'datetime-local', step: '1', value: toLocalInput(st.start) });
    const end = h('input', { id: 'f-end', type: 'datetime-local', step: '1', value: toLocalInput(st.end) });
    const custom = h('div', { class: 'field-row custom-range', hidden: st.lookback !== 'custom' }, field('From', start), field('To', end));
    lookback.addEventListener('change', () => {
      custom.hidden = lookback.value !== 'custom';
    });
    const minDuration = h('input', { id: 'f-min', name: 'minDuration', placeholder: 'e.g. 100ms', value: st.minDuration, inputmode: 'text', size: '8' });
    const maxDuration = h('input', { id: 'f-max', name: 'maxDuration', placeholder: 'e.g. 1.5s', value: st.maxDuration, size: '8' });
    const limit = h('input', { id: 'f-limit', name: 'limit', type: 'number', min: '1', max: '1500', value: st.limit });
    const problem = h('p', { class: 'form-problem', role: 'alert' });

    const loadOperations = async (name: string): Promise<void> => {
      clear(operation);
      operation.append(h('option', { value: '' }, 'All operations'));
      if (!name) return;
      try {
        const ops = await getJson<string[]>(`/api/services/${encodeURIComponent(name)}/operations`, this.#abort.signal);
        for (const op of ops.slice().sort()) operation.append(h('option', { value: op, selected: op === st.operation }, op));
      } catch {
        // the search itself reports an unreachable server
      }
    };
    service.addEventListener('change', () => void loadOperations(service.value));
    void (async () => {
      try {
        const names = await getJson<string[]>('/api/services', this.#abort.signal);
        for (const name of names.slice().sort()) service.append(h('option', { value: name, selected: name === st.service }, name));
        if (st.service && !names.includes(st.service)) service.append(h('option', { value: st.service, selected: true }, `${st.service} (no spans)`));
        await loadOperations(st.service);
      } catch {
        // idem
      }
    })();

    const edge = st.from || st.node;
    const edgeChip = edge
      ? h(
          'div',
          { class: 'edge-filter' },
          h('span', null, st.node ? 'Traces through ' : 'Traces over ', h('strong', null, st.node || `${st.from} → ${st.to}`)),
          h('a', { href: '/search', class: 'btn btn-small', 'aria-label': 'Clear the service-map filter' }, '×'),
        )
      : null;

    return h(
      'form',
      {
        class: 'search-form',
        'aria-label': 'Find traces',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const parsed = parseTagFilter(tags.value);
          const bad = [minDuration, maxDuration].find((i) => i.value.trim() && parseDuration(i.value) === undefined);
          if (parsed.error) problem.textContent = `Tags: ${parsed.error}`;
          else if (bad) problem.textContent = `"${bad.value}" is not a duration (use 250us, 100ms, 1.5s, 2m)`;
          else if (lookback.value === 'custom' && !start.value) problem.textContent = 'A custom range needs a start';
          else {
            problem.textContent = '';
            const next: SearchState = {
              ...st,
              service: service.value,
              operation: operation.value,
              tags: tags.value.trim(),
              lookback: lookback.value,
              start: fromLocalInput(start.value),
              end: fromLocalInput(end.value),
              minDuration: minDuration.value.trim(),
              maxDuration: maxDuration.value.trim(),
              limit: limit.value || DEFAULT_LIMIT,
            };
            this.#app.navigate(`/search?${paramsOfState(next, this.#sort)}`);
          }
        },
      },
      h('h1', { class: 'panel-title' }, 'Find traces'),
      edgeChip,
      // Traces behind a map edge are chosen by the graph: only time and limit apply to them.
      h('div', { class: 'field-group', hidden: Boolean(edge) }, field('Service', service), field('Operation', operation), field('Tags', tags, 'key=value pairs, separated by spaces')),
      field('Time', lookback),
      custom,
      h('div', { class: 'field-row', hidden: Boolean(edge) }, field('Min duration', minDuration), field('Max duration', maxDuration)),
      field('Limit', limit),
      problem,
      h('button', { type: 'submit', class: 'btn btn-primary', id: 'find' }, 'Find traces'),
    );
  }

  async #search(): Promise<void> {
    clear(this.#results);
    this.#results.append(h('p', { class: 'muted loading' }, 'Searching…'));
    try {
      const traces = await getJson<Trace[]>(apiPathOf(this.#state, Date.now()), this.#abort.signal);
      this.#rows = new Map(traces.map((t) => [t.traceID, rowOfTrace(t)]));
      this.#loaded = true;
      this.#renderResults();
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      this.#app.showError(this.#results, err, () => void this.#search());
    }
  }

  onLive(summaries: LiveSummary[]): void {
    if (!this.#loaded) return;
    let changed = false;
    const now = Date.now();
    for (const s of summaries) {
      const id = shortTraceId(s.traceId);
      const known = this.#rows.get(id);
      if (known) {
        const update = rowOfSummary(s);
        // A summary knows service names only; keep the counts a full trace gave where names agree.
        const counts = new Map(known.services);
        update.services = update.services.map(([name]) => [name, counts.get(name)]);
        if (update.spanCount !== known.spanCount) update.services = update.services.map(([name]) => [name, undefined]);
        this.#rows.set(id, update);
        changed = true;
        continue;
      }
      const match = summaryMatches(s, this.#state, now);
      if (match === true) {
        this.#rows.set(id, rowOfSummary(s));
        this.#fresh.add(id);
        changed = true;
      } else if (match === 'maybe' && !this.#maybe.has(id)) {
        this.#maybe.add(id);
        changed = true;
      }
    }
    if (changed) this.#renderResults();
  }

  #renderResults(): void {
    clear(this.#results);
    const rows = [...this.#rows.values()].sort(SORTS.find(([k]) => k === this.#sort)?.[2]);
    const sort = h('select', { id: 'sort', 'aria-label': 'Sort results' }, ...SORTS.map(([k, label]) => h('option', { value: k, selected: k === this.#sort }, label)));
    sort.addEventListener('change', () => {
      this.#sort = sort.value;
      history.replaceState(null, '', `/search?${paramsOfState(this.#state, this.#sort)}`);
      this.#renderResults();
    });
    const count = rows.length;
    this.#results.append(
      h(
        'div',
        { class: 'results-head' },
        h('h2', { id: 'result-count' }, `${count} trace${count === 1 ? '' : 's'}`),
        this.#fresh.size > 0 ? h('span', { class: 'fresh-count' }, `${this.#fresh.size} new since loaded`) : null,
        this.#maybe.size > 0
          ? h('button', { type: 'button', class: 'btn btn-small', id: 'refresh-new', onclick: () => void this.#refresh() }, `${this.#maybe.size} new trace${this.#maybe.size === 1 ? '' : 's'} may match · refresh`)
          : null,
        h('span', { class: 'spacer' }),
        sort,
      ),
    );
    if (count === 0) {
      this.#results.append(
        h(
          'div',
          { class: 'empty' },
          h('p', null, h('strong', null, 'No traces match.')),
          h('p', { class: 'muted' }, 'Widen the time range or remove filters. New traces appear here as they arrive while a capture runs.'),
        ),
      );
      return;
    }
    const longest = Math.max(1, ...rows.map((r) => r.durationUs));
    const list = h('ol', { class: 'trace-list', onkeydown: (e: KeyboardEvent) => moveFocus(e, list) });
    const now = Date.now();
    for (const row of rows) list.append(h('li', null, this.#rowElement(row, longest, now)));
    this.#results.append(list);
  }

  async #refresh(): Promise<void> {
    this.#maybe.clear();
    await this.#search();
  }

  #rowElement(row: TraceRow, longest: number, now: number): HTMLElement {
    const fresh = this.#fresh.has(row.traceId);
    return h(
      'a',
      { class: `trace-row${row.errorCount > 0 ? ' has-error' : ''}${fresh ? ' fresh' : ''}`, href: `/trace/${row.traceId}`, 'data-trace-id': row.traceId },
      h(
        'div',
        { class: 'tr-line' },
        h('span', { class: 'tr-title' }, h('span', { class: 'svc-dot', style: { background: serviceColour(row.rootService) } }), h('strong', null, row.rootService || '(no root)'), ': ', row.rootName),
        h('span', { class: 'tr-id mono' }, row.traceId.slice(0, 7)),
        h('span', { class: 'spacer' }),
        h('span', { class: 'tr-duration mono' }, formatDuration(row.durationUs)),
      ),
      h('div', { class: 'tr-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${Math.max(0.5, (row.durationUs / longest) * 100)}%` } })),
      h(
        'div',
        { class: 'tr-line tr-meta' },
        h('span', { class: 'tr-spans' }, `${row.spanCount} span${row.spanCount === 1 ? '' : 's'}`),
        row.errorCount > 0 ? h('span', { class: 'badge badge-error tr-errors' }, `${row.errorCount} error${row.errorCount === 1 ? '' : 's'}`) : null,
        h(
          'span',
          { class: 'tr-services' },
          row.services.map(([name, n]) => h('span', { class: 'svc-chip', style: { borderColor: serviceColour(name) } }, name, n !== undefined ? h('span', { class: 'svc-count' }, ` ${n}`) : null)),
        ),
        h('span', { class: 'spacer' }),
        fresh ? h('span', { class: 'badge badge-new' }, 'new') : null,
        h('time', { class: 'tr-time muted', datetime: new Date(row.startUs / 1000).toISOString(), title: formatTimestamp(row.startUs) }, `${formatTimestamp(row.startUs)} · ${formatAgo(row.startUs, now)}`),
      ),
    );
  }
}

function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', { class: 'muted' }, hint) : null);
}

/** Up and down arrows move between results; Home and End jump. */
function moveFocus(e: KeyboardEvent, list: HTMLElement): void {
  const links = [...list.querySelectorAll<HTMLAnchorElement>('a.trace-row')];
  const at = links.indexOf(document.activeElement as HTMLAnchorElement);
  let next = -1;
  if (e.key === 'ArrowDown') next = Math.min(links.length - 1, at + 1);
  else if (e.key === 'ArrowUp') next = Math.max(0, at - 1);
  else if (e.key === 'Home') next = 0;
  else if (e.key === 'End') next = links.length - 1;
  if (next < 0) return;
  e.preventDefault();
  links[next].focus();
}
