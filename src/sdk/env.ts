/**
 * The SDK's settings from the environment: the standard OTEL_* variables
 * first, then WIRETRACE_SDK_* (one per config field, upper snake case:
 * serviceName → WIRETRACE_SDK_SERVICE_NAME) for what OpenTelemetry has no
 * variable for, and to override it. Values are converted only as far as
 * their shape is clear; the schema judges them, and its message names the
 * variable a bad value came from.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvLayer {
  values: Record<string, unknown>;
  /** Config field → the variable it was read from, for error messages. */
  origins: Map<string, string>;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `k=v,k2=v2` with percent-encoded values (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS). */
export function keyValueList(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list(value)) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    let v = item.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // Kept as written: a stray % is more likely meant literally than a reason to drop the entry.
    }
    out[key] = v;
  }
  return out;
}

function bool(value: string): boolean | string {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return value;
}

function num(value: string): number | string {
  const n = Number(value.trim());
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

const OTEL_EXPORTERS: Record<string, string | undefined> = { jaeger: 'jaeger', zipkin: 'zipkin', console: 'console', none: 'none' };

/** Reads the variables that are set; unset ones leave the layer below alone. */
export function sdkConfigFromEnv(env: Env = process.env): EnvLayer {
  const values: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  const set = (field: string, value: unknown, variable: string): void => {
    values[field] = value;
    origins.set(field, variable);
  };
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };

  // Standard OpenTelemetry variables.
  const resourceAttrs = get('OTEL_RESOURCE_ATTRIBUTES');
  if (resourceAttrs !== undefined) {
    const attrs = keyValueList(resourceAttrs);
    const { 'service.name': name, 'service.version': version, 'deployment.environment.name': envName, 'deployment.environment': envOld, ...rest } = attrs;
    if (name !== undefined) set('serviceName', name, 'OTEL_RESOURCE_ATTRIBUTES');
    if (version !== undefined) set('serviceVersion', version, 'OTEL_RESOURCE_ATTRIBUTES');
    if ((envName ?? envOld) !== undefined) set('environment', envName ?? envOld, 'OTEL_RESOURCE_ATTRIBUTES');
    if (Object.keys(rest).length > 0) set('resourceAttributes', rest, 'OTEL_RESOURCE_ATTRIBUTES');
  }
  const serviceName = get('OTEL_SERVICE_NAME');
  if (serviceName !== undefined) set('serviceName', serviceName, 'OTEL_SERVICE_NAME');

  const protocolVar = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  // The specification's default is http/protobuf.
  const protocol = (get(protocolVar) ?? 'http/protobuf').trim();
  const otlpType = protocol === 'grpc' ? 'otlp-grpc' : 'otlp-http';
  if (protocol === 'http/json') set('otlpHttpProtocol', 'json', protocolVar);
  else if (protocol !== 'grpc' && protocol !== 'http/protobuf') set('otlpHttpProtocol', protocol, protocolVar);

  const exporters = get('OTEL_TRACES_EXPORTER');
  if (exporters !== undefined) set('exporters', list(exporters).map((e) => (e === 'otlp' ? otlpType : (OTEL_EXPORTERS[e] ?? e))), 'OTEL_TRACES_EXPORTER');

  const tracesEndpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  const endpoints: Record<string, string> = {};
  if (tracesEndpoint !== undefined) {
    endpoints.otlpGrpc = tracesEndpoint.trim();
    endpoints.otlpHttp = tracesEndpoint.trim();
    origins.set('endpoints.otlpGrpc', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').set('endpoints.otlpHttp', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  } else if (baseEndpoint !== undefined) {
    endpoints.otlpGrpc = baseEndpoint.trim();
    // The base endpoint is a prefix for HTTP: the signal's path is appended.
    endpoints.otlpHttp = `${baseEndpoint.trim().replace(/\/+$/, '')}/v1/traces`;
    origins.set('endpoints.otlpGrpc', 'OTEL_EXPORTER_OTLP_ENDPOINT').set('endpoints.otlpHttp', 'OTEL_EXPORTER_OTLP_ENDPOINT');
  }
  const jaegerEndpoint = get('OTEL_EXPORTER_JAEGER_ENDPOINT');
  if (jaegerEndpoint !== undefined) {
    endpoints.jaeger = jaegerEndpoint.trim();
    origins.set('endpoints.jaeger', 'OTEL_EXPORTER_JAEGER_ENDPOINT');
  }
  const zipkinEndpoint = get('OTEL_EXPORTER_ZIPKIN_ENDPOINT');
  if (zipkinEndpoint !== undefined) {
    endpoints.zipkin = zipkinEndpoint.trim();
    origins.set('endpoints.zipkin', 'OTEL_EXPORTER_ZIPKIN_ENDPOINT');
  }

  const headers = get('OTEL_EXPORTER_OTLP_TRACES_HEADERS') ?? get('OTEL_EXPORTER_OTLP_HEADERS');
  if (headers !== undefined) set('headers', keyValueList(headers), 'OTEL_EXPORTER_OTLP_HEADERS');

  const sampler = get('OTEL_TRACES_SAMPLER')?.trim();
  const samplerArg = get('OTEL_TRACES_SAMPLER_ARG');
  if (sampler !== undefined) {
    // Every sampler here follows its parent's decision; the names only choose the rate of new traces.
    if (sampler === 'always_on' || sampler === 'parentbased_always_on') set('samplingRate', 1, 'OTEL_TRACES_SAMPLER');
    else if (sampler === 'always_off' || sampler === 'parentbased_always_off') set('samplingRate', 0, 'OTEL_TRACES_SAMPLER');
    else if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') set('samplingRate', samplerArg === undefined ? 1 : num(samplerArg), 'OTEL_TRACES_SAMPLER_ARG');
    else set('samplingRate', sampler, 'OTEL_TRACES_SAMPLER');
  }

  const numeric: Array<[string, string]> = [
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
    ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
    ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'],
  ];
  for (const [variable, field] of numeric) {
    const v = get(variable);
    if (v !== undefined) set(field, num(v), variable);
  }
  const propagators = get('OTEL_PROPAGATORS');
  if (propagators !== undefined) set('propagators', list(propagators), 'OTEL_PROPAGATORS');

  // WIRETRACE_SDK_* override the OTEL_* ones.
  const wt = (field: string, convert: (v: string) => unknown = (v) => v.trim()): void => {
    const variable = `WIRETRACE_SDK_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const v = get(variable);
    if (v !== undefined) set(field, convert(v), variable);
  };
  wt('enabled', bool);
  wt('serviceName');
  wt('serviceVersion');
  wt('environment');
  wt('exporters', list);
  wt('otlpHttpProtocol');
  wt('splunkToken');
  wt('samplingRate', num);
  wt('maxExportBatchSize', num);
  wt('maxQueueSize', num);
  wt('exportTimeoutMillis', num);
  wt('scheduledDelayMillis', num);
  wt('propagators', list);
  const extraResource = get('WIRETRACE_SDK_RESOURCE_ATTRIBUTES');
  if (extraResource !== undefined) {
    set('resourceAttributes', { ...(values.resourceAttributes as Record<string, string> | undefined), ...keyValueList(extraResource) }, 'WIRETRACE_SDK_RESOURCE_ATTRIBUTES');
  }
  for (const [field, variable] of [
    ['otlpGrpc', 'WIRETRACE_SDK_OTLP_GRPC_ENDPOINT'],
    ['otlpHttp', 'WIRETRACE_SDK_OTLP_HTTP_ENDPOINT'],
    ['jaeger', 'WIRETRACE_SDK_JAEGER_ENDPOINT'],
    ['zipkin', 'WIRETRACE_SDK_ZIPKIN_ENDPOINT'],
    ['splunk', 'WIRETRACE_SDK_SPLUNK_ENDPOINT'],
  ] as const) {
    const v = get(variable);
    if (v === undefined) continue;
    endpoints[field] = v.trim();
    origins.set(`endpoints.${field}`, variable);
  }
  if (Object.keys(endpoints).length > 0) values.endpoints = endpoints;

  // The specification's switch wins over everything: an operator turning tracing off means off.
  if (bool(get('OTEL_SDK_DISABLED') ?? '') === true) set('enabled', false, 'OTEL_SDK_DISABLED');
  return { values, origins };
}
