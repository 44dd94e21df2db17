export { TraceServer, type TraceServerOptions, type ServerPorts } from './server.js';
export { MemoryStore, type StoreLimits, type TraceQuery, type TraceSummary } from './store/memory.js';
export type { StoredSpan, Tag } from './span.js';
export { toJaegerTrace } from './convert/jaeger-json.js';
export { storedFromReadable } from './convert/readable.js';
