#!/usr/bin/env node
/*
 * Bundles the web UI (src/ui) into dist/ui: one script and one stylesheet,
 * named by content hash (the server caches such files as immutable), and an
 * index.html that references them by absolute path so client-side routes
 * (/trace/<id>, /map) load the same assets. Nothing is fetched at run time.
 *
 *   node scripts/build-ui.mjs [--outdir DIR] [--dev]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--outdir');
const outdir = resolve(outIndex >= 0 ? args[outIndex + 1] : join(root, 'dist', 'ui'));
const dev = args.includes('--dev');
const src = join(root, 'src', 'ui');

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: [join(src, 'main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  outdir,
  entryNames: 'app',
  assetNames: 'asset-[name]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});

// Named by a hex content hash: the server serves such names as immutable.
const hashed = (name) => {
  const path = join(outdir, name);
  const hash = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
  const dot = name.lastIndexOf('.');
  const renamed = `${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
  renameSync(path, join(outdir, renamed));
  return renamed;
};
let script;
let stylesheet;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  const name = relative(outdir, resolve(root, file)).split('\\').join('/');
  if (meta.entryPoint && name.endsWith('.js')) script = hashed(name);
  else if (name.endsWith('.css')) stylesheet = hashed(name);
}
if (!script) throw new Error('esbuild produced no script for the UI');

const template = readFileSync(join(src, 'index.html'), 'utf8');
const links = stylesheet ? `<link rel="stylesheet" href="/${stylesheet}">` : '';
const html = template.replace('<!--ui:styles-->', links).replace('<!--ui:script-->', `<script type="module" src="/${script}"></script>`);
writeFileSync(join(outdir, 'index.html'), html);
process.stdout.write(`web UI → ${relative(process.cwd(), outdir) || '.'}: ${basename(script)}${stylesheet ? `, ${basename(stylesheet)}` : ''}\n`);
