import './styles.css';
import { ApiError, setToken } from './api.js';
import { clear, h } from './dom.js';
import { LiveFeed, type LiveState } from './live.js';
import type { LiveSummary } from './api.js';
import { SearchView } from './search.js';
import { ServiceMapView } from './service-map.js';
import { TraceView } from './trace-view.js';

/*
 * The web UI: a shell with three views routed on the path (/search,
 * /trace/<id>, /map) so every view is a link; the server answers any
 * extension-less path with index.html.
 */

export interface View {
  readonly element: HTMLElement;
  /** Called with every batch of the live feed while the view is shown. */
  onLive?(summaries: LiveSummary[]): void;
  dispose?(): void;
}

export interface App {
  navigate(url: string, replace?: boolean): void;
  showError(target: HTMLElement, err: unknown, retry?: () => void): void;
}

const root = document.getElementById('app') as HTMLElement;
const main = h('main', { id: 'view', tabindex: '-1' });
const liveBadge = h('span', { class: 'live-badge', 'data-state': 'connecting', role: 'status', title: 'Live feed of new traces' }, 'connecting');
const navSearch = h('a', { href: '/search', class: 'nav-link' }, 'Search');
const navMap = h('a', { href: '/map', class: 'nav-link' }, 'Service map');
let current: View | undefined;

const app: App = {
  navigate(url, replace = false) {
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    render();
  },
  showError(target, err, retry) {
    clear(target);
    if (err instanceof ApiError && err.status === 401) {
      target.append(tokenForm());
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    target.append(
      h('div', { class: 'notice notice-error', role: 'alert' }, h('strong', null, 'Could not load: '), message, retry ? h('button', { type: 'button', class: 'btn btn-small', onclick: retry }, 'Retry') : null),
    );
  },
};

function tokenForm(): HTMLElement {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true });
  return h(
    'form',
    {
      class: 'notice token-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        setToken(input.value);
        live.restart();
        // The whole view again: whatever else it loaded (the service list, ...) was refused too.
        render();
      },
    },
    h('label', { for: 'token' }, 'This server requires a bearer token'),
    input,
    h('button', { type: 'submit', class: 'btn' }, 'Use token'),
  );
}

function render(): void {
  current?.dispose?.();
  const path = location.pathname;
  const trace = /^\/trace\/([0-9a-fA-F]{1,32})\/?$/.exec(path);
  if (trace) current = new TraceView(app, trace[1]);
  else if (path === '/map' || path === '/map/') current = new ServiceMapView(app);
  else current = new SearchView(app, new URLSearchParams(location.search));
  navSearch.toggleAttribute('aria-current', current instanceof SearchView || current instanceof TraceView);
  navMap.toggleAttribute('aria-current', current instanceof ServiceMapView);
  clear(main);
  main.append(current.element);
}

const live = new LiveFeed(
  (summaries) => current?.onLive?.(summaries),
  (state: LiveState) => {
    liveBadge.dataset.state = state;
    liveBadge.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting' : 'offline';
  },
);

// Same-origin links navigate inside the app; modified clicks keep the browser's meaning (new tab, ...).
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  // SVG links (the service map) are <a> elements too, with href as an attribute.
  const a = (e.target as Element).closest?.('a');
  const href = a?.getAttribute('href');
  if (!a || !href || a.getAttribute('target') || a.hasAttribute('download')) return;
  const url = new URL(href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  app.navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

root.append(
  h(
    'header',
    { class: 'topbar' },
    h('a', { href: '/search', class: 'brand', 'aria-label': 'wiretrace home' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'wiretrace'),
    h('nav', { 'aria-label': 'Views' }, navSearch, navMap),
    h('div', { class: 'topbar-end' }, liveBadge),
  ),
  main,
);
render();
live.start();
