// OpenTelemetry setup shared by the demo services: the official Node SDK,
// the official HTTP instrumentation, and the propagator the topology assigns.
// Nothing here is wiretrace code: the services are ordinary instrumented apps.
import { createRequire } from 'node:module';
import { context, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { JsonlSpanExporter } from './jsonl-span-exporter.mjs';
import { propagatorOf } from './topology.mjs';

function makePropagator(kind) {
  switch (kind) {
    case 'w3c':
      return new W3CTraceContextPropagator();
    case 'b3':
      return new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
    case 'b3multi':
      return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
    case 'jaeger':
      return new JaegerPropagator();
    default:
      throw new Error(`unknown propagator ${kind}`);
  }
}

/**
 * Starts tracing for one service and returns the instrumented `http` module.
 * `http` must be loaded after the instrumentation is registered: it patches
 * the module when it is required, and an ESM `import` of a builtin is not
 * seen by require hooks.
 */
export function startTracing(serviceName, spansFile) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    // Simple, not batched: each span is written the moment it ends, so the
    // ground truth is complete as soon as the last response has been sent.
    spanProcessors: [new SimpleSpanProcessor(new JsonlSpanExporter(spansFile))],
  });
  provider.register({ propagator: makePropagator(propagatorOf(serviceName)) });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new HttpInstrumentation()],
  });
  const http = createRequire(import.meta.url)('node:http');
  return { http, shutdown: () => provider.shutdown() };
}

/** Names the active SERVER span after its route, as a web framework would. */
export function markRoute(method, route) {
  const span = trace.getSpan(context.active());
  if (span === undefined) return;
  span.setAttribute(ATTR_HTTP_ROUTE, route);
  span.updateName(`${method} ${route}`);
}
