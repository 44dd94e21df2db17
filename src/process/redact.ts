import type { WiretraceConfig } from '../config/schema.js';

/** Headers whose values never leave wiretrace, whatever the config asks to record. */
export const NEVER_EXPORTED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export function isNeverExported(lowerName: string): boolean {
  return NEVER_EXPORTED_HEADERS.has(lowerName);
}

/**
 * Replaces the values of sensitive query parameters (and other name=value
 * pairs, such as baggage entries) by a fixed text. A name is sensitive when
 * it contains one of the configured substrings, compared case-insensitively
 * on the percent-decoded name.
 */
export class Redactor {
  readonly #needles: string[];
  readonly #replacement: string;

  constructor(redaction: WiretraceConfig['redaction']) {
    this.#needles = redaction.queryParams.map((s) => s.toLowerCase()).filter((s) => s.length > 0);
    this.#replacement = redaction.replacement;
  }

  get replacement(): string {
    return this.#replacement;
  }

  isSensitiveName(name: string): boolean {
    if (this.#needles.length === 0) return false;
    const lower = safeDecode(name).toLowerCase();
    for (const n of this.#needles) if (lower.includes(n)) return true;
    return false;
  }

  /** The query string (without "?") with sensitive values replaced; the rest byte for byte. */
  redactQuery(query: string): string {
    if (query.length === 0 || this.#needles.length === 0) return query;
    const pairs = query.split('&');
    let changed = false;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (this.isSensitiveName(pair.slice(0, eq)) && pair.slice(eq + 1) !== this.#replacement) {
        pairs[i] = `${pair.slice(0, eq + 1)}${this.#replacement}`;
        changed = true;
      }
    }
    return changed ? pairs.join('&') : query;
  }
}

function safeDecode(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
