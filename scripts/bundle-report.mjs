/**
 * Checks a built script-tag bundle and reports its size: raw, gzip and brotli bytes.
 *
 * Used by rollup.config.mjs after each bundle is written; also runnable on its own:
 *   node scripts/bundle-report.mjs dist/p2p-call.js dist/p2p-call.iife.js
 * Exits non-zero (or throws, from rollup) when a bundle breaks a rule below.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Budget for the ESM bundle, brotli-compressed: what a host page pays to embed a call. */
export const MAX_ESM_BROTLI_BYTES = 30 * 1024;

/** What a strict CSP (`script-src <origin>` without 'unsafe-eval') blocks. */
const CSP_BREAKERS = [
  // Any use of the global, not just a direct `eval(` call: minifiers emit `(0,eval)(…)` too.
  { pattern: /(?<![\w$.])eval(?![\w$])/, what: 'eval' },
  // `new Function(…)`, or `Function(…)`, which is the same and what terser may turn it into.
  { pattern: /(?<![\w$.])Function\s*\(/, what: 'new Function' },
];

/** Sizes of `code` as served: raw, gzip -9 and brotli at its best quality. */
export function sizes(code) {
  const buffer = Buffer.from(code);
  return {
    raw: buffer.length,
    gzip: gzipSync(buffer, { level: 9 }).length,
    brotli: brotliCompressSync(buffer, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
    }).length,
  };
}

/**
 * The problems of one bundle (empty when it is fine).
 * @param {string} code the bundle's text
 * @param {{ format: 'es' | 'iife', sourceUsesImportMeta?: boolean }} info
 */
export function problems(code, { format, sourceUsesImportMeta = false }) {
  const found = [];
  for (const { pattern, what } of CSP_BREAKERS) {
    if (pattern.test(code)) found.push(`contains ${what}, which a strict CSP blocks`);
  }
  if (format === 'iife') {
    // `import.meta` is a syntax error in a classic script: the whole bundle would not run.
    if (/\bimport\.meta\b/.test(code)) found.push('contains import.meta, a syntax error in a classic <script>');
    // The element finds its server from its own URL; in the IIFE rollup derives it from
    // document.currentScript, captured while the script runs.
    if (sourceUsesImportMeta && !code.includes('document.currentScript')) {
      found.push('uses import.meta.url but does not capture document.currentScript');
    }
  }
  if (format === 'es') {
    const { brotli } = sizes(code);
    if (brotli > MAX_ESM_BROTLI_BYTES) {
      found.push(`is ${kb(brotli)} brotli, over the ${kb(MAX_ESM_BROTLI_BYTES)} budget`);
    }
  }
  return found;
}

/** One report line, e.g. `dist/p2p-call.js  raw 41.2 KB  gzip 13.0 KB  brotli 11.7 KB`. */
export function reportLine(file, code) {
  const { raw, gzip, brotli } = sizes(code);
  return `${relative(process.cwd(), file).padEnd(24)} raw ${kb(raw).padStart(9)}  gzip ${kb(gzip).padStart(9)}  brotli ${kb(brotli).padStart(9)}`;
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

async function main(files) {
  let failed = false;
  for (const file of files) {
    const code = await readFile(file, 'utf8');
    console.log(reportLine(file, code));
    const format = file.endsWith('.iife.js') ? 'iife' : 'es';
    for (const problem of problems(code, { format })) {
      console.error(`${file} ${problem}`);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
