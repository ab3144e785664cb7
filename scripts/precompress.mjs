/**
 * Writes `.br` and `.gz` next to the text files the server hands out most: the script-tag
 * bundles in dist/ and the demo's text files. The server (and nginx's
 * `gzip_static`) then send them by Accept-Encoding without compressing per request.
 *
 * Runs at the end of `npm run build`, after rollup; uses the server's own compression settings
 * from dist/server/content-encoding.js so both always agree. Usage:
 *   node scripts/precompress.mjs [file...]   (default: the bundles and demo/)
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { COMPRESSIBLE_EXTENSIONS, ENCODINGS, SIDECAR_SUFFIX, compress } = await import(join(ROOT, 'dist/server/content-encoding.js'));

async function defaultFiles() {
  // Not the source maps: only developer tools fetch them, rarely; the server compresses them
  // once in memory when asked, which keeps 0.5 MB of sidecars out of the package.
  const bundles = ['p2p-call.js', 'p2p-call.iife.js'].map((name) => join(ROOT, 'dist', name));
  const demo = (await readdir(join(ROOT, 'demo'), { withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && COMPRESSIBLE_EXTENSIONS.has(extname(entry.name)))
    .map((entry) => join(ROOT, 'demo', entry.name));
  return [...bundles, ...demo];
}

const files = process.argv.length > 2 ? process.argv.slice(2) : await defaultFiles();
for (const file of files) {
  const body = await readFile(file);
  const sizes = [];
  for (const encoding of ENCODINGS) {
    const compressed = await compress(body, encoding);
    await writeFile(file + SIDECAR_SUFFIX[encoding], compressed);
    sizes.push(`${encoding} ${compressed.length}`);
  }
  console.log(`precompressed ${relative(ROOT, file)}: ${body.length} B → ${sizes.join(', ')}`);
}
