/*
 * A layered layout for the service map, small enough to live here rather
 * than ship Graphviz to the browser: callers left of callees (longest path
 * from the entry points, cycles broken where a depth-first walk meets them),
 * rows ordered by the barycentre of their neighbours to uncross edges.
 * Pure: the Node tests run it.
 */

export interface LayoutInput {
  nodes: string[];
  edges: Array<{ from: string; to: string }>;
}

export interface LayoutResult {
  /** Column and row of each node. */
  position: Map<string, { layer: number; row: number }>;
  layers: string[][];
  /** Edges that point back (a cycle) or stay within a column. */
  backEdges: Set<string>;
}

export const edgeKey = (from: string, to: string): string => `${from}\u0000${to}`;

export function layered(input: LayoutInput): LayoutResult {
  const names = input.nodes.slice().sort();
  const out = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const n of names) {
    out.set(n, []);
    indegree.set(n, 0);
  }
  for (const e of input.edges) {
    if (!out.has(e.from) || !out.has(e.to) || e.from === e.to) continue;
    out.get(e.from)?.push(e.to);
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  }
  for (const list of out.values()) list.sort();

  // Depth-first from the entry points (no callers) first, then from whatever is left (pure cycles).
  const backEdges = new Set<string>();
  const state = new Map<string, 1 | 2>();
  const starts = [...names.filter((n) => indegree.get(n) === 0), ...names];
  for (const start of starts) {
    if (state.has(start)) continue;
    const stack: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const succ = out.get(top.node) as string[];
      if (top.next >= succ.length) {
        state.set(top.node, 2);
        stack.pop();
        continue;
      }
      const to = succ[top.next++];
      const s = state.get(to);
      if (s === 1) backEdges.add(edgeKey(top.node, to));
      else if (s === undefined) {
        state.set(to, 1);
        stack.push({ node: to, next: 0 });
      }
    }
  }

  // Longest path over the forward edges, in topological order (Kahn).
  const layer = new Map<string, number>(names.map((n) => [n, 0]));
  const forwardIn = new Map<string, number>(names.map((n) => [n, 0]));
  for (const [from, list] of out) for (const to of list) if (!backEdges.has(edgeKey(from, to))) forwardIn.set(to, (forwardIn.get(to) ?? 0) + 1);
  const queue = names.filter((n) => forwardIn.get(n) === 0);
  while (queue.length > 0) {
    const n = queue.shift() as string;
    for (const to of out.get(n) as string[]) {
      if (backEdges.has(edgeKey(n, to))) continue;
      layer.set(to, Math.max(layer.get(to) ?? 0, (layer.get(n) ?? 0) + 1));
      const left = (forwardIn.get(to) ?? 0) - 1;
      forwardIn.set(to, left);
      if (left === 0) queue.push(to);
    }
  }

  const layerCount = Math.max(0, ...layer.values()) + 1;
  const layers: string[][] = Array.from({ length: names.length ? layerCount : 0 }, () => []);
  for (const n of names) layers[layer.get(n) ?? 0].push(n);

  const neighbours = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const [from, list] of out)
    for (const to of list) {
      neighbours.get(from)?.push(to);
      neighbours.get(to)?.push(from);
    }
  const rowOf = new Map<string, number>();
  const index = (): void => layers.forEach((l) => l.forEach((n, i) => rowOf.set(n, i)));
  index();
  for (let pass = 0; pass < 6; pass++) {
    const order = pass % 2 === 0 ? layers.keys() : [...layers.keys()].reverse().values();
    for (const li of order) {
      const bary = new Map<string, number>();
      for (const n of layers[li]) {
        const adjacent = (neighbours.get(n) as string[]).filter((m) => layer.get(m) !== li);
        bary.set(n, adjacent.length ? adjacent.reduce((s, m) => s + (rowOf.get(m) ?? 0), 0) / adjacent.length : (rowOf.get(n) ?? 0));
      }
      layers[li].sort((a, b) => (bary.get(a) as number) - (bary.get(b) as number) || (a < b ? -1 : 1));
      index();
    }
  }

  for (const [from, list] of out) for (const to of list) if (layer.get(from) === layer.get(to)) backEdges.add(edgeKey(from, to));
  const position = new Map<string, { layer: number; row: number }>();
  for (const n of names) position.set(n, { layer: layer.get(n) ?? 0, row: rowOf.get(n) ?? 0 });
  return { position, layers, backEdges };
}
