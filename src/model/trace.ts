/** Trace context as read from the wire. Ids are lowercase hex (32 and 16 digits). */
export interface WireTraceContext {
  traceId: string;
  /** The span id the caller sent: the id of the caller's own CLIENT span. */
  parentSpanId: string;
  sampled?: boolean;
  traceState?: string;
  baggage?: Record<string, string>;
  /** Which header family supplied it. */
  source: 'w3c' | 'b3' | 'b3multi' | 'jaeger' | 'splunk';
}
