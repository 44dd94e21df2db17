// Checks Mermaid flowchart text of the shape toMermaid writes, statement by
// statement, against the rules of Mermaid's flowchart lexer (flow.jison) and
// of the pre-passes Mermaid runs before it (comments, directives, entity
// codes). Not Mermaid itself (its parser needs a newer Node or a DOM); see
// the report. Returns every label decoded the way Mermaid would show it.

export interface MermaidCheck {
  ok: boolean;
  error?: string;
  /** Node id → label lines, and edge index → label lines, decoded. */
  nodeLabels: Map<string, string[]>;
  edgeLabels: string[][];
}

const KEYWORDS = new Set(['style', 'default', 'linkStyle', 'interpolate', 'classDef', 'class', 'click', 'call', 'href', 'graph', 'flowchart', 'subgraph', 'end', 'direction']);
/** Node ids as toMermaid writes them; also a valid NODE_STRING that is no keyword. */
const ID = /^n\d+$/;
/** The inside of a quoted STR: no '"' (it would end the string), nothing Mermaid or HTML reads, entity codes only as #<decimal>;. */
const QUOTED = /^"((?:[^"#<>&|[\](){}`%:;\\]|#\d+;|<br\/>)*)"$/u;
const STYLE = /^[a-z-]+:[#0-9a-zA-Z.() ,-]+$/;

function decodeLabel(inner: string): string[] {
  return inner.split('<br/>').map((line) => line.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code))));
}

function label(text: string, where: string): string[] {
  const m = QUOTED.exec(text);
  if (!m) throw new Error(`bad quoted label in ${where}: ${text}`);
  return decodeLabel(m[1]);
}

function styles(text: string, where: string): void {
  for (const part of text.split(',')) if (!STYLE.test(part)) throw new Error(`bad style "${part}" in ${where}`);
}

export function checkMermaid(text: string): MermaidCheck {
  const nodeLabels = new Map<string, string[]>();
  const edgeLabels: string[][] = [];
  try {
    if (text.includes('%%')) throw new Error("'%%' would start a comment or directive");
    if (/^---/.test(text)) throw new Error('front matter');
    const lines = text.split('\n');
    if (lines[0] !== 'flowchart LR') throw new Error(`first line is "${lines[0]}"`);
    if (lines[lines.length - 1] !== '') throw new Error('no final newline');
    const classes = new Set<string>();
    let linkStyles = 0;
    for (const [n, raw] of lines.slice(1, -1).entries()) {
      const where = `line ${n + 2}`;
      if (/style.*:\S*#.*;/.test(raw) || /classDef.*:\S*#.*;/.test(raw)) throw new Error(`${where} would lose a ';' to the entity pre-pass`);
      if (!raw.startsWith('  ') || /\s$/.test(raw)) throw new Error(`${where}: indentation or trailing space`);
      const line = raw.slice(2);
      let m: RegExpExecArray | null;
      if ((m = /^(\S+)\[\((.*)\)\]$/.exec(line)) || (m = /^(\S+)\[(".*")\]$/.exec(line))) {
        const [, id, body] = m;
        if (!ID.test(id) || KEYWORDS.has(id)) throw new Error(`${where}: bad node id ${id}`);
        if (nodeLabels.has(id)) throw new Error(`${where}: node ${id} twice`);
        nodeLabels.set(id, label(body, where));
      } else if ((m = /^(\S+) -->\|(".*")\| (\S+)$/.exec(line))) {
        const [, from, body, to] = m;
        if (!nodeLabels.has(from) || !nodeLabels.has(to)) throw new Error(`${where}: edge between undeclared nodes ${from} ${to}`);
        edgeLabels.push(label(body, where));
      } else if ((m = /^classDef ([a-z]+) (.+)$/.exec(line))) {
        styles(m[2], where);
        classes.add(m[1]);
      } else if ((m = /^class ([^ ]+) ([a-z]+)$/.exec(line))) {
        if (!classes.has(m[2])) throw new Error(`${where}: class ${m[2]} not defined`);
        for (const id of m[1].split(',')) if (!nodeLabels.has(id)) throw new Error(`${where}: class on unknown node ${id}`);
      } else if ((m = /^linkStyle (\d+) (.+)$/.exec(line))) {
        if (Number(m[1]) !== linkStyles++ || Number(m[1]) >= edgeLabels.length) throw new Error(`${where}: linkStyle ${m[1]} out of order or range`);
        styles(m[2], where);
      } else throw new Error(`${where}: not a statement: ${line}`);
    }
    return { ok: true, nodeLabels, edgeLabels };
  } catch (err) {
    return { ok: false, error: (err as Error).message, nodeLabels, edgeLabels };
  }
}
