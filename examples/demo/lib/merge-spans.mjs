// Merges the per-service ground-truth files into one, ordered by start time
// (ties by service and span id, so the order does not depend on the shell).
// Usage: node merge-spans.mjs <folder-of-jsonl> > out.jsonl
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: merge-spans.mjs <folder>');
  process.exit(2);
}
const spans = [];
for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
  for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
    if (line.trim() !== '') spans.push(JSON.parse(line));
  }
}
spans.sort((a, b) => {
  const byStart = BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano);
  if (byStart !== 0n) return byStart < 0n ? -1 : 1;
  return a.serviceName.localeCompare(b.serviceName) || a.spanId.localeCompare(b.spanId);
});
process.stdout.write(spans.map((s) => JSON.stringify(s) + '\n').join(''));
