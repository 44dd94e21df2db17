// A strict XML 1.0 well-formedness check, small enough to read: one root
// element, tags nested and closed, attributes quoted and unique, only the
// five predefined entities or valid character references, no stray '<' or
// '&'. Returns the text content of every element, entities decoded, so a
// test can look for the names it expects.

export interface XmlCheck {
  ok: boolean;
  error?: string;
  texts: string[];
  /** Element names in document order. */
  elements: string[];
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string, where: string): string {
  return text.replace(/&([^;]*);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`bare '&' in ${where}`);
    if (ref in PREDEFINED) return PREDEFINED[ref];
    const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (!m) throw new Error(`unknown entity &${ref}; in ${where}`);
    const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2], 10);
    const legal = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!legal) throw new Error(`illegal character reference ${whole} in ${where}`);
    return String.fromCodePoint(code);
  });
}

function checkChars(text: string, where: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text)) throw new Error(`illegal character in ${where}`);
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) throw new Error(`lone surrogate in ${where}`);
}

export function checkXml(doc: string): XmlCheck {
  const texts: string[] = [];
  const elements: string[] = [];
  try {
    checkChars(doc, 'document');
    let i = 0;
    const stack: { name: string; text: string }[] = [];
    let rootSeen = false;
    if (doc.startsWith('<?xml')) {
      const end = doc.indexOf('?>');
      if (end < 0) throw new Error('unterminated XML declaration');
      i = end + 2;
    }
    while (i < doc.length) {
      if (doc.startsWith('<!--', i)) {
        const end = doc.indexOf('-->', i + 4);
        if (end < 0) throw new Error('unterminated comment');
        if (doc.slice(i + 4, end).includes('--')) throw new Error("'--' inside a comment");
        i = end + 3;
      } else if (doc.startsWith('<!DOCTYPE', i)) {
        if (rootSeen || stack.length) throw new Error('DOCTYPE after the root element');
        const end = doc.indexOf('>', i);
        if (end < 0 || doc.slice(i, end).includes('[')) throw new Error('unsupported or unterminated DOCTYPE');
        i = end + 1;
      } else if (doc.startsWith('<![CDATA[', i)) {
        if (!stack.length) throw new Error('CDATA outside the root');
        const end = doc.indexOf(']]>', i);
        if (end < 0) throw new Error('unterminated CDATA');
        stack[stack.length - 1].text += doc.slice(i + 9, end);
        i = end + 3;
      } else if (doc.startsWith('<?', i)) {
        const end = doc.indexOf('?>', i);
        if (end < 0) throw new Error('unterminated processing instruction');
        i = end + 2;
      } else if (doc.startsWith('</', i)) {
        const m = NAME.exec(doc.slice(i + 2));
        if (!m) throw new Error(`bad end tag at ${i}`);
        const open = stack.pop();
        if (!open || open.name !== m[0]) throw new Error(`</${m[0]}> closes <${open?.name ?? 'nothing'}> at ${i}`);
        let j = i + 2 + m[0].length;
        while (/\s/.test(doc[j] ?? '')) j++;
        if (doc[j] !== '>') throw new Error(`bad end tag </${m[0]}>`);
        texts.push(open.text);
        if (stack.length) stack[stack.length - 1].text += '';
        i = j + 1;
      } else if (doc[i] === '<') {
        if (rootSeen && !stack.length) throw new Error('second root element');
        const m = NAME.exec(doc.slice(i + 1));
        if (!m) throw new Error(`bad start tag at ${i}`);
        const name = m[0];
        elements.push(name);
        let j = i + 1 + name.length;
        const attrs = new Set<string>();
        for (;;) {
          const ws = j;
          while (/\s/.test(doc[j] ?? '')) j++;
          if (doc.startsWith('/>', j)) {
            j += 2;
            texts.push('');
            break;
          }
          if (doc[j] === '>') {
            j += 1;
            stack.push({ name, text: '' });
            break;
          }
          if (j === ws) throw new Error(`missing space before attribute in <${name}>`);
          const a = NAME.exec(doc.slice(j));
          if (!a) throw new Error(`bad attribute in <${name}> at ${j}`);
          if (attrs.has(a[0])) throw new Error(`duplicate attribute ${a[0]} in <${name}>`);
          attrs.add(a[0]);
          j += a[0].length;
          while (/\s/.test(doc[j] ?? '')) j++;
          if (doc[j] !== '=') throw new Error(`attribute ${a[0]} without value`);
          j++;
          while (/\s/.test(doc[j] ?? '')) j++;
          const quote = doc[j];
          if (quote !== '"' && quote !== "'") throw new Error(`unquoted attribute ${a[0]}`);
          const end = doc.indexOf(quote, j + 1);
          if (end < 0) throw new Error(`unterminated attribute ${a[0]}`);
          const value = doc.slice(j + 1, end);
          if (value.includes('<')) throw new Error(`'<' in attribute ${a[0]}`);
          decode(value, `attribute ${a[0]}`);
          j = end + 1;
        }
        rootSeen = true;
        i = j;
      } else {
        const next = doc.indexOf('<', i);
        const raw = doc.slice(i, next < 0 ? doc.length : next);
        if (raw.includes(']]>')) throw new Error("']]>' in text");
        if (!stack.length) {
          if (raw.trim() !== '') throw new Error('text outside the root element');
        } else stack[stack.length - 1].text += decode(raw, `<${stack[stack.length - 1].name}>`);
        i = next < 0 ? doc.length : next;
      }
    }
    if (stack.length) throw new Error(`<${stack[stack.length - 1].name}> never closed`);
    if (!rootSeen) throw new Error('no root element');
    return { ok: true, texts, elements };
  } catch (err) {
    return { ok: false, error: (err as Error).message, texts, elements };
  }
}
