#!/usr/bin/env node
// Checks that a demo recording's capture and its SDK ground truth agree:
//   - the capture holds nothing but the demo's loopback TCP traffic, complete;
//   - every request carries exactly the trace header family its caller injects;
//   - every SDK CLIENT span id is the parent id of exactly one request on the
//     wire, with the same trace id, to the server and path the span names;
//   - every SDK SERVER span is exactly one request on the wire: same trace id,
//     same parent id, same path, same response status;
//   - requests that were propagated unsampled left no SDK span at all.
// The wire side is read by tshark, independently of wiretrace.
// Usage: node check-ground-truth.mjs <recording prefix>   (reads <prefix>.pcap,
// <prefix>.sdk-spans.jsonl and <prefix>.recording.json); exits 1 on a mismatch.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const prefix = process.argv[2];
if (!prefix) {
  console.error('usage: check-ground-truth.mjs <recording prefix, e.g. examples/demo/demo>');
  process.exit(2);
}
const pcapPath = `${prefix}.pcap`;
const recording = JSON.parse(readFileSync(`${prefix}.recording.json`, 'utf8'));
const sdkSpans = readFileSync(`${prefix}.sdk-spans.jsonl`, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));

const failures = [];
function expect(condition, message) {
  if (!condition) failures.push(message);
}

const serviceByPort = new Map(Object.entries(recording.services).map(([name, s]) => [s.port, name]));
const ports = [...serviceByPort.keys()];

// Field separators that never occur in HTTP header lines.
const FIELD_SEP = '\u001e';
const VALUE_SEP = '\u001f';

function tshark(displayFilter, fields) {
  const args = ['-r', pcapPath, '-n', '-d', `tcp.port==${Math.min(...ports)}-${Math.max(...ports)},http`];
  if (displayFilter) args.push('-Y', displayFilter);
  args.push('-T', 'fields', '-E', `separator=${FIELD_SEP}`, '-E', 'occurrence=a', '-E', `aggregator=${VALUE_SEP}`);
  for (const field of fields) args.push('-e', field);
  const text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const values = line.split(FIELD_SEP);
      return Object.fromEntries(fields.map((field, i) => [field, values[i] ?? '']));
    });
}

// --- the capture holds the demo's traffic and nothing else -------------------
const frames = tshark('', ['frame.number', 'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.stream', 'tcp.flags.syn', 'tcp.flags.ack']);
expect(frames.length > 0, 'the capture is empty');
const streamsOpenedBySyn = new Set();
const streams = new Set();
for (const f of frames) {
  const src = Number(f['tcp.srcport']);
  const dst = Number(f['tcp.dstport']);
  expect(
    f['ip.src'] === '127.0.0.1' && f['ip.dst'] === '127.0.0.1',
    `frame ${f['frame.number']} is not IPv4 loopback TCP (${f['ip.src']} -> ${f['ip.dst']})`,
  );
  expect(serviceByPort.has(src) || serviceByPort.has(dst), `frame ${f['frame.number']} is not demo traffic (${src} -> ${dst})`);
  streams.add(f['tcp.stream']);
  if (f['tcp.flags.syn'] === '1' && f['tcp.flags.ack'] === '0') streamsOpenedBySyn.add(f['tcp.stream']);
}
expect(streamsOpenedBySyn.size === streams.size, `${streams.size - streamsOpenedBySyn.size} connection(s) start before the capture`);
const lost = tshark('tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment', ['frame.number']);
expect(lost.length === 0, `the capture misses segments (frames ${lost.map((f) => f['frame.number']).join(', ')})`);

// --- trace context on the wire ----------------------------------------------
const padTraceId = (id) => id.toLowerCase().padStart(32, '0');

/** Reads every trace header family present in a request's header lines. */
function contextsOf(headers) {
  const found = [];
  const traceparent = headers.get('traceparent');
  if (traceparent !== undefined) {
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent);
    found.push(m ? { family: 'w3c', traceId: m[1], parentSpanId: m[2], sampled: (parseInt(m[3], 16) & 1) === 1 } : { family: 'w3c', malformed: traceparent });
  }
  const b3 = headers.get('b3');
  if (b3 !== undefined) {
    const m = /^([0-9a-f]{16}|[0-9a-f]{32})-([0-9a-f]{16})(?:-([01d]))?(?:-([0-9a-f]{16}))?$/.exec(b3);
    found.push(m ? { family: 'b3', traceId: padTraceId(m[1]), parentSpanId: m[2], sampled: m[3] === '1' || m[3] === 'd' } : { family: 'b3', malformed: b3 });
  }
  const b3TraceId = headers.get('x-b3-traceid');
  if (b3TraceId !== undefined || headers.has('x-b3-spanid')) {
    const spanId = headers.get('x-b3-spanid') ?? '';
    const ok = /^([0-9a-f]{16}|[0-9a-f]{32})$/.test(b3TraceId ?? '') && /^[0-9a-f]{16}$/.test(spanId);
    found.push(
      ok
        ? { family: 'b3multi', traceId: padTraceId(b3TraceId), parentSpanId: spanId, sampled: headers.get('x-b3-sampled') === '1' || headers.get('x-b3-flags') === '1' }
        : { family: 'b3multi', malformed: `${b3TraceId}/${spanId}` },
    );
  }
  const uber = headers.get('uber-trace-id');
  if (uber !== undefined) {
    const m = /^([0-9a-f]{1,32}):([0-9a-f]{1,16}):([0-9a-f]{1,16}):([0-9a-f]{1,2})$/.exec(decodeURIComponent(uber));
    found.push(
      m
        ? { family: 'jaeger', traceId: padTraceId(m[1]), parentSpanId: m[2].padStart(16, '0'), sampled: (parseInt(m[4], 16) & 1) === 1 }
        : { family: 'jaeger', malformed: uber },
    );
  }
  return found;
}

const httpFrames = tshark('http', [
  'frame.number',
  'tcp.srcport',
  'tcp.dstport',
  'http.request.method',
  'http.request.uri',
  'http.request.line',
  'http.response.code',
  'http.request_in',
]);
const requests = [];
const responseStatusByRequestFrame = new Map();
for (const f of httpFrames) {
  if (f['http.request.method'] !== '') {
    const headers = new Map();
    for (const line of f['http.request.line'].split(VALUE_SEP)) {
      const text = line.replace(/\\r\\n$/, '');
      const colon = text.indexOf(':');
      if (colon > 0) headers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
    }
    const port = Number(f['tcp.dstport']);
    requests.push({
      frame: Number(f['frame.number']),
      service: serviceByPort.get(port),
      port,
      method: f['http.request.method'],
      path: f['http.request.uri'].split('?')[0],
      host: headers.get('host'),
      contexts: contextsOf(headers),
    });
  } else if (f['http.response.code'] !== '') {
    responseStatusByRequestFrame.set(Number(f['http.request_in']), Number(f['http.response.code']));
  }
}
expect(requests.length > 0, 'no HTTP request on the wire');

// --- pair the wire with the SDK's spans -------------------------------------
const pathOf = (span) => span.attributes['url.path'] ?? new URL(span.attributes['url.full']).pathname;
const unmatchedServer = new Set(sdkSpans.filter((s) => s.kind === 'SERVER'));
const unmatchedClient = new Set(sdkSpans.filter((s) => s.kind === 'CLIENT'));
const otherKinds = sdkSpans.filter((s) => s.kind !== 'SERVER' && s.kind !== 'CLIENT');
expect(otherKinds.length === 0, `unexpected span kinds: ${otherKinds.map((s) => s.kind).join(', ')}`);
const unsampledTraceIds = new Set();
const familyCounts = {};
const rootRequests = [];

for (const request of requests) {
  const where = `request frame ${request.frame} (${request.method} ${request.path} to ${request.service})`;
  const status = responseStatusByRequestFrame.get(request.frame);
  expect(request.service !== undefined, `${where}: not addressed to a demo service`);
  if (request.service === undefined) continue;
  const described = recording.services[request.service];
  expect(request.host === described.host, `${where}: Host is ${request.host}, expected ${described.host}`);
  expect(status !== undefined, `${where}: no response on the wire`);

  const caller = described.calledBy;
  const expectedFamily = caller === 'curl' ? recording.entryContext : recording.services[caller].injects;
  const families = request.contexts.map((c) => c.family).sort();
  const expectedFamilies = expectedFamily === 'none' ? [] : [expectedFamily];
  expect(
    families.join(',') === expectedFamilies.join(','),
    `${where}: trace headers [${families.join(', ')}], expected [${expectedFamilies.join(', ')}]`,
  );
  for (const family of families) familyCounts[family] = (familyCounts[family] ?? 0) + 1;
  const context = request.contexts[0];
  if (context?.malformed !== undefined) {
    failures.push(`${where}: malformed ${context.family} header '${context.malformed}'`);
    continue;
  }

  if (context === undefined) {
    rootRequests.push({ request, status, where });
    continue;
  }
  if (!context.sampled) {
    unsampledTraceIds.add(context.traceId);
    continue;
  }

  const server = [...unmatchedServer].find(
    (s) => s.serviceName === request.service && s.traceId === context.traceId && s.parentSpanId === context.parentSpanId,
  );
  expect(server !== undefined, `${where}: no SDK SERVER span with trace ${context.traceId} and parent ${context.parentSpanId}`);
  if (server !== undefined) {
    unmatchedServer.delete(server);
    expect(server.parentIsRemote === true, `${where}: SDK SERVER span ${server.spanId} does not have a remote parent`);
    expect(pathOf(server) === request.path, `${where}: SDK SERVER span ${server.spanId} has path ${pathOf(server)}`);
    expect(
      server.attributes['http.response.status_code'] === status,
      `${where}: SDK SERVER span ${server.spanId} has status ${server.attributes['http.response.status_code']}, the wire ${status}`,
    );
  }

  if (caller === 'curl') continue;
  const client = [...unmatchedClient].find((s) => s.spanId === context.parentSpanId);
  expect(client !== undefined, `${where}: parent id ${context.parentSpanId} is no SDK CLIENT span of ${caller}`);
  if (client !== undefined) {
    unmatchedClient.delete(client);
    expect(client.serviceName === caller, `${where}: its CLIENT span belongs to ${client.serviceName}, expected ${caller}`);
    expect(client.traceId === context.traceId, `${where}: its CLIENT span is in trace ${client.traceId}, the wire says ${context.traceId}`);
    expect(client.attributes['server.port'] === request.port, `${where}: its CLIENT span calls port ${client.attributes['server.port']}`);
    expect(pathOf(client) === request.path, `${where}: its CLIENT span calls ${pathOf(client)}`);
    expect(
      client.attributes['http.response.status_code'] === status,
      `${where}: its CLIENT span has status ${client.attributes['http.response.status_code']}, the wire ${status}`,
    );
  }
}

// Requests without context start a trace: they pair with the SDK's root SERVER
// spans in order of time.
const rootSpans = [...unmatchedServer].filter((s) => s.parentSpanId === null);
expect(rootSpans.length === rootRequests.length, `${rootRequests.length} requests without context, ${rootSpans.length} SDK root SERVER spans`);
rootRequests.forEach(({ request, status, where }, i) => {
  const span = rootSpans[i];
  if (span === undefined) return;
  unmatchedServer.delete(span);
  expect(span.serviceName === request.service && pathOf(span) === request.path, `${where}: paired root span ${span.spanId} is ${span.serviceName} ${pathOf(span)}`);
  expect(span.attributes['http.response.status_code'] === status, `${where}: root span ${span.spanId} has status ${span.attributes['http.response.status_code']}, the wire ${status}`);
});

for (const span of unmatchedClient) failures.push(`SDK CLIENT span ${span.spanId} (${span.serviceName} -> ${span.attributes['url.full']}) is the parent of no request on the wire`);
for (const span of unmatchedServer) failures.push(`SDK SERVER span ${span.spanId} (${span.serviceName} ${span.name}) matches no request on the wire`);
for (const span of sdkSpans) {
  expect(!unsampledTraceIds.has(span.traceId), `SDK span ${span.spanId} belongs to trace ${span.traceId}, which the wire propagated unsampled`);
}

// The SDK's own tree is whole: each CLIENT span's parent is a SERVER span of the same service.
const byId = new Map(sdkSpans.map((s) => [s.spanId, s]));
for (const client of sdkSpans.filter((s) => s.kind === 'CLIENT')) {
  const parent = byId.get(client.parentSpanId);
  expect(
    parent?.kind === 'SERVER' && parent.serviceName === client.serviceName && parent.traceId === client.traceId,
    `SDK CLIENT span ${client.spanId} of ${client.serviceName} has no SERVER parent in its own service`,
  );
}

const count = (kind) => sdkSpans.filter((s) => s.kind === kind).length;
const traceCount = new Set(sdkSpans.map((s) => s.traceId)).size;
console.log(
  `checked ${prefix.split('/').pop()}: ${frames.length} frames, ${streams.size} connections, ${requests.length} requests ` +
    `(${Object.entries(familyCounts).map(([f, n]) => `${n} ${f}`).join(', ') || 'no trace headers'}` +
    `${unsampledTraceIds.size ? `, ${unsampledTraceIds.size} unsampled trace(s)` : ''}); ` +
    `${sdkSpans.length} SDK spans (${count('SERVER')} SERVER, ${count('CLIENT')} CLIENT) in ${traceCount} traces`,
);
if (failures.length > 0) {
  console.error(`ground truth and capture disagree (${failures.length}):`);
  for (const failure of failures) console.error(`  - ${failure}`);
  process.exit(1);
}
console.log('ground truth and capture agree');
