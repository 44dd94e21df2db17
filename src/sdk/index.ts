/**
 * wiretrace/sdk: a thin, opinionated layer on OpenTelemetry JS. One call
 * (`createTracing`) sets up exporters (the agent's), sampling and
 * propagation; middleware and helpers make the spans.
 */
export { createTracing, currentInstrumentation, resolveSdkConfig, SDK_SCOPE, type CreateTracingOptions, type Instrumentation, type Tracing } from './tracing.js';
export {
  defaultConfig,
  exporterEntries,
  parseSdkConfig,
  PROPAGATOR_NAMES,
  SDK_EXPORTER_NAMES,
  sdkConfigSchema,
  type PropagatorName,
  type SdkConfig,
  type SdkConfigInput,
  type SdkExporterName,
} from './config.js';
export { sdkConfigFromEnv, type Env } from './env.js';
export {
  createPropagator,
  extractFrom,
  headersLikeGetter,
  headersLikeSetter,
  injectInto,
  nodeHeadersGetter,
  nodeHeadersSetter,
  recordGetter,
  recordSetter,
  SplunkRequestIdPropagator,
  type Carrier,
  type HeadersLike,
} from './propagation.js';
export { inject, extract } from './context.js';
export { Attr, addEvent, attributeValue, recordError, setAttributes, setStatus, toAttributes } from './attributes.js';
export { expressErrorHandler, expressMiddleware, fastifyPlugin, koaMiddleware, serverSpanOf, setRoute, traceHttp, type FastifyPluginLike } from './http-server.js';
export { tracedFetch, tracedRequest } from './http-client.js';
export { consume, database, instrument, job, produce, providerCall, withRetry, type DatabaseOptions, type JobOptions, type MessagingOptions, type RetryOptions } from './helpers.js';
export { pinoMixin, traceFields, winstonTraceFormat, type TraceFields } from './logs.js';
