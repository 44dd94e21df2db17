// One measured run of the built pipeline over a capture, in its own process
// so that peak RSS is this run's alone. Prints one JSON line.
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { analyze } from '../dist/pipeline.js';
import { defaultConfig } from '../dist/config/schema.js';
import { OtlpJsonLinesExporter } from '../dist/export/otlp-json-file.js';

const [file, mode] = process.argv.slice(2);
const sink = new Writable({ write(_chunk, _enc, cb) { cb(); } });
const exporter = mode === 'otlp' ? new OtlpJsonLinesExporter(sink) : undefined;
let spans = 0;
const started = process.hrtime.bigint();
const { stats } = await analyze(createReadStream(file, { highWaterMark: 1 << 20 }), {
  config: defaultConfig(),
  onSpans(batch) {
    spans += batch.length;
    exporter?.export(batch, () => {});
  },
});
await exporter?.shutdown();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS, packets: stats.packets, bytes: stats.bytes, exchanges: stats.exchanges.get('complete'), spans }) + '\n');
