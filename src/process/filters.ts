import type { WiretraceConfig } from '../config/schema.js';
import type { Exchange } from '../model/exchange.js';
import { parseRequestTarget } from './target.js';

/**
 * A path glob: `*` matches within one segment, `**` across segments, `?`
 * one character of a segment; everything else literally.
 */
export function compilePathGlob(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        // "**/" is zero or more whole segments: "/api/**/health" covers "/api/health".
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/** Which exchanges produce no spans at all (config `filters`). */
export class ExchangeFilter {
  readonly #excludePaths: RegExp[];
  readonly #includePorts: ReadonlySet<number>;
  readonly #excludePorts: ReadonlySet<number>;

  constructor(filters: WiretraceConfig['filters']) {
    this.#excludePaths = filters.excludePaths.map((g) => compileGlobForPath(g));
    this.#includePorts = new Set(filters.includePorts);
    this.#excludePorts = new Set(filters.excludePorts);
  }

  excludes(exchange: Exchange): boolean {
    const { client, server } = exchange.connection;
    if (this.#includePorts.size > 0 && !this.#includePorts.has(client.port) && !this.#includePorts.has(server.port)) return true;
    if (this.#excludePorts.has(client.port) || this.#excludePorts.has(server.port)) return true;
    if (this.#excludePaths.length > 0 && exchange.request) {
      const path = parseRequestTarget(exchange.request.target).path;
      if (path !== undefined) for (const re of this.#excludePaths) if (re.test(path)) return true;
    }
    return false;
  }
}

function compileGlobForPath(glob: string): RegExp {
  // A "/**" tail also covers the bare directory: "/health/**" excludes "/health".
  if (glob.endsWith('/**')) return new RegExp(`${compilePathGlob(glob.slice(0, -3)).source.slice(0, -1)}(?:/.*)?$`);
  return compilePathGlob(glob);
}
