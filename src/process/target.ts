/** The parts of an HTTP/1 request target (RFC 9112 §3.2), as sent. */
export interface RequestTarget {
  form: 'origin' | 'absolute' | 'authority' | 'asterisk';
  /** Lowercased scheme of an absolute-form target. */
  scheme?: string;
  /** host[:port] of an absolute-form or authority-form target, userinfo removed. */
  authority?: string;
  /** Path of an origin-form or absolute-form target ("/" when absolute-form has none). */
  path?: string;
  /** Query without the "?", when the target has one. */
  query?: string;
}

const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/;

export function parseRequestTarget(target: string): RequestTarget {
  if (target.startsWith('/')) {
    const hash = target.indexOf('#');
    const t = hash >= 0 ? target.slice(0, hash) : target;
    const q = t.indexOf('?');
    return q >= 0 ? { form: 'origin', path: t.slice(0, q), query: t.slice(q + 1) } : { form: 'origin', path: t };
  }
  if (target === '*') return { form: 'asterisk' };
  const m = ABSOLUTE.exec(target);
  if (m) {
    const rawAuthority = m[2];
    const at = rawAuthority.lastIndexOf('@');
    const result: RequestTarget = {
      form: 'absolute',
      scheme: m[1].toLowerCase(),
      authority: at >= 0 ? rawAuthority.slice(at + 1) : rawAuthority,
      path: m[3] === '' ? '/' : m[3],
    };
    if (m[4] !== undefined) result.query = m[4];
    return result;
  }
  const at = target.lastIndexOf('@');
  return { form: 'authority', authority: at >= 0 ? target.slice(at + 1) : target };
}
