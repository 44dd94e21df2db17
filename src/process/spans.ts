import { TraceFlags, type Attributes, type HrTime, type Link, type SpanContext, type SpanKind, type SpanStatus, type TraceState } from '@opentelemetry/api';
import { hrTimeDuration, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

export interface WireSpanInit {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: TraceState;
  parent?: { spanId: string; isRemote: boolean };
  startTime: HrTime;
  endTime: HrTime;
  status: SpanStatus;
  attributes: Attributes;
  events: TimedEvent[];
  resource: Resource;
  instrumentationScope: InstrumentationScope;
}

/**
 * A finished span reconstructed from the wire, in the shape every
 * OpenTelemetry SpanExporter takes. Immutable once built.
 */
export class WireSpan implements ReadableSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext?: SpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: Link[] = [];
  readonly events: TimedEvent[];
  readonly duration: HrTime;
  readonly ended = true;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  readonly #context: SpanContext;

  constructor(init: WireSpanInit) {
    this.name = init.name;
    this.kind = init.kind;
    this.#context = { traceId: init.traceId, spanId: init.spanId, traceFlags: init.traceFlags, isRemote: false };
    if (init.traceState) this.#context.traceState = init.traceState;
    if (init.parent) {
      this.parentSpanContext = {
        traceId: init.traceId,
        spanId: init.parent.spanId,
        traceFlags: init.traceFlags,
        isRemote: init.parent.isRemote,
      };
    }
    this.startTime = init.startTime;
    this.endTime = init.endTime;
    this.duration = hrTimeDuration(init.startTime, init.endTime);
    this.status = init.status;
    this.attributes = init.attributes;
    this.events = init.events;
    this.resource = init.resource;
    this.instrumentationScope = init.instrumentationScope;
  }

  spanContext(): SpanContext {
    return this.#context;
  }
}

export function traceFlagsFor(sampled: boolean | undefined): number {
  return sampled === false ? TraceFlags.NONE : TraceFlags.SAMPLED;
}
