export { ServiceGraphBuilder, type ServiceGraphBuilderOptions } from './builder.js';
export { LogHistogram, RELATIVE_ACCURACY } from './histogram.js';
export { toDot, toMermaid, toJson, toSvg, writeGraph, renderGraph, graphFormatFromPath, type GraphFormat, type RenderOptions } from './render.js';
export type { ServiceGraph, GraphNode, GraphEdge, NodeKind, LatencySummary, GraphDrops } from './types.js';
