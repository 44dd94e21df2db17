/**
 * Route templates: the low-cardinality name of what a request asked for.
 * Configured patterns win (first match); otherwise path segments that look
 * like identifiers are replaced by placeholders:
 *
 *   :id     integers                      /orders/1234
 *   :uuid   UUIDs                         /users/3f2b...-...
 *   :date   ISO dates (and date-times)    /reports/2024-05-01
 *   :hex    hex strings of 16+ digits     /blobs/9f86d081884c7d65
 *   :token  long opaque tokens            /reset/eyJhbGciOiJIUzI1NiJ9
 */

type PatternSegment =
  | { kind: 'literal'; text: string }
  | { kind: 'param' }
  | { kind: 'glob'; regex: RegExp }
  | { kind: 'any' }
  | { kind: 'tail' };

interface CompiledPattern {
  route: string;
  segments: PatternSegment[];
}

const INTEGER = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
const HEX = /^[0-9a-f]{16,}$/i;
const TOKEN_CHARS = /^[A-Za-z0-9_\-=.~+%]{20,}$/;

/** Placeholder for a path segment that is an identifier, or undefined for a segment that names something. */
export function placeholderFor(segment: string): string | undefined {
  if (INTEGER.test(segment)) return ':id';
  if (segment.length === 36 && UUID.test(segment)) return ':uuid';
  if (DATE.test(segment)) return ':date';
  if (segment.length >= 16 && HEX.test(segment)) return ':hex';
  if (segment.length >= 20 && isOpaqueToken(segment)) return ':token';
  return undefined;
}

/**
 * Base64/base64url-ish runs of 20+ characters with letters and digits. A
 * readable slug ("api-v2-authentication-service") has those too, so a token
 * must also mix letter case or be at least a quarter digits.
 */
function isOpaqueToken(segment: string): boolean {
  if (!TOKEN_CHARS.test(segment)) return false;
  let digits = 0;
  let lower = 0;
  let upper = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 97 && c <= 122) lower++;
    else if (c >= 65 && c <= 90) upper++;
  }
  if (digits === 0 || lower + upper === 0) return false;
  return (lower > 0 && upper > 0) || digits * 4 >= segment.length;
}

function compilePattern(pattern: string): CompiledPattern {
  const segments: PatternSegment[] = [];
  const parts = trimTrailingSlash(pattern).split('/').slice(1);
  for (const part of parts) {
    if (part === '**') segments.push({ kind: 'tail' });
    else if (part === '*') segments.push({ kind: 'any' });
    else if (part.startsWith(':') && part.length > 1) segments.push({ kind: 'param' });
    else if (part.includes('*'))
      segments.push({ kind: 'glob', regex: new RegExp(`^${part.split('*').map(escapeRegex).join('[^/]*')}$`) });
    else segments.push({ kind: 'literal', text: part });
  }
  return { route: pattern, segments };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function matches(p: CompiledPattern, parts: readonly string[]): boolean {
  const segs = p.segments;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s.kind === 'tail') return true;
    if (i >= parts.length) return false;
    const part = parts[i];
    switch (s.kind) {
      case 'literal':
        if (part !== s.text) return false;
        break;
      case 'param':
      case 'any':
        if (part.length === 0) return false;
        break;
      case 'glob':
        if (!s.regex.test(part)) return false;
        break;
    }
  }
  return segs.length === parts.length;
}

export class RouteTemplater {
  readonly #patterns: CompiledPattern[];

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map(compilePattern);
  }

  /** The route for a URL path (no query string). */
  route(path: string): string {
    const q = path.indexOf('?');
    const clean = q >= 0 ? path.slice(0, q) : path;
    const parts = trimTrailingSlash(clean).split('/').slice(1);
    for (const p of this.#patterns) if (matches(p, parts)) return p.route;
    return templatePath(clean);
  }
}

/** The path with identifier segments replaced by placeholders. */
export function templatePath(path: string): string {
  const parts = path.split('/');
  let changed = false;
  for (let i = 1; i < parts.length; i++) {
    const placeholder = parts[i].length > 0 ? placeholderFor(parts[i]) : undefined;
    if (placeholder !== undefined) {
      parts[i] = placeholder;
      changed = true;
    }
  }
  return changed ? parts.join('/') : path;
}
