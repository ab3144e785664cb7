/**
 * The script-tag bundles (EMBED.md, "Script-tag embed"): `dist/p2p-call.js` (ES module) and
 * `dist/p2p-call.iife.js` (classic `<script src>`, global `P2PCall`), both self-defining,
 * minified, with every dependency inside and source maps.
 *
 * The input is tsc's output (`npm run build` runs `tsc -p tsconfig.build.json` first), so no
 * TypeScript plugin is needed; tsc's own source maps are chained so the maps point at the .ts.
 * After writing, each bundle is checked and reported by scripts/bundle-report.mjs: the build
 * fails on `eval(`/`new Function` (strict CSP) or an ESM bundle over 30 KB brotli.
 *
 * `--configInput <file> --configOutDir <dir>` build another entry with the same settings
 * (the tests use it to check the IIFE's `import.meta.url`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { problems, reportLine } from './scripts/bundle-report.mjs';

export default function config(args) {
  const input = args.configInput ?? 'dist/widget/define.js';
  const outDir = args.configOutDir ?? 'dist';
  // Ours, not rollup's: keep them out of its option handling.
  delete args.configInput;
  delete args.configOutDir;
  if (!existsSync(input)) {
    throw new Error(`${input} is missing: run "tsc -p tsconfig.build.json" first (npm run build does both)`);
  }

  const main = {
    input,
    plugins: [
      chainInputSourcemaps(),
      // Lit's "production" export is its default; asking for it explicitly keeps the
      // dev-mode build (and its console warning) out even if a "development" condition appears.
      nodeResolve({ browser: true, exportConditions: ['production'] }),
      minifyCss(),
      bundleChecks(),
    ],
    output: [
      { file: join(outDir, 'p2p-call.js'), format: 'es', sourcemap: true, plugins: [minify({ module: true })] },
      {
        file: join(outDir, 'p2p-call.iife.js'),
        format: 'iife',
        name: 'P2PCall',
        sourcemap: true,
        // Not `module`: that mangles and drops top-level names, and `var P2PCall` is the API.
        plugins: [minify({ module: false })],
      },
    ],
  };
  if (input !== 'dist/widget/define.js') return main;
  // Every language but English is its own small module next to the bundle (dist/lang/<tag>.js),
  // loaded by `import(`./lang/${tag}.js`)` relative to the bundle only when a page uses it.
  const langDir = 'dist/widget/lang';
  const languages = existsSync(langDir) ? readdirSync(langDir).filter((f) => f.endsWith('.js')) : [];
  return [main, ...languages.map((file) => ({
    input: join(langDir, file),
    plugins: [bundleChecks()],
    output: { file: join(outDir, 'lang', file), format: 'es', plugins: [minify({ module: true })] },
  }))];
}

/**
 * Terser keeps template literals as they are, so the element's stylesheet (a Lit `css`
 * template without interpolations) would ship with its comments and indentation: strip
 * those. Only our own `*.styles.js` files (no quoted text there but font names, whose single
 * spaces are kept), only whitespace and comments.
 */
function minifyCss() {
  return {
    name: 'minify-css',
    transform(code, id) {
      if (!id.endsWith('.styles.js')) return null;
      const out = code.replace(/\bcss\s*`([^`$]*)`/g, (_, text) => 'css`' + text
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\s+/g, ' ')
        .replace(/\s*([{};,>])\s*/g, '$1')
        .replace(/;}/g, '}')
        .trim() + '`');
      return { code: out, map: null };
    },
  };
}

function minify({ module }) {
  return terser({ ecma: 2020, module, format: { comments: false } });
}

/**
 * Reads each input's `//# sourceMappingURL` map (tsc's and Lit's) so the bundle's map goes back
 * to the original sources; fills in `sourcesContent` where the map has none (tsc), so the
 * served map works without the .ts files.
 */
function chainInputSourcemaps() {
  return {
    name: 'chain-input-sourcemaps',
    async load(id) {
      if (!id.endsWith('.js') || !existsSync(id)) return null;
      const code = await readFile(id, 'utf8');
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(code)?.[1];
      if (url === undefined || url.startsWith('data:')) return code;
      let map;
      try {
        map = JSON.parse(await readFile(resolve(dirname(id), url), 'utf8'));
      } catch {
        return code;
      }
      if (!Array.isArray(map.sourcesContent)) {
        const root = resolve(dirname(id), map.sourceRoot ?? '');
        map.sourcesContent = await Promise.all(
          map.sources.map((source) => readFile(resolve(root, source), 'utf8').catch(() => null)),
        );
      }
      return { code, map };
    },
  };
}

/**
 * Prints one size line per written bundle (ESM first; rollup writes the outputs in parallel)
 * and fails the build if a bundle breaks a rule.
 */
function bundleChecks() {
  let sourceUsesImportMeta = false;
  const written = [];
  return {
    name: 'bundle-checks',
    buildStart() {
      sourceUsesImportMeta = false;
      written.length = 0;
    },
    transform(code) {
      if (/\bimport\.meta\b/.test(code)) sourceUsesImportMeta = true;
      return null;
    },
    writeBundle(options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        written.push({ file: join(options.dir ?? dirname(options.file), chunk.fileName), format: options.format, code: chunk.code });
      }
    },
    closeBundle() {
      const failures = [];
      for (const { file, format, code } of written.sort((a, b) => (a.format === 'es' ? 0 : 1) - (b.format === 'es' ? 0 : 1))) {
        console.log(reportLine(file, code));
        const found = problems(code, { format, sourceUsesImportMeta });
        if (found.length > 0) failures.push(`${file} ${found.join('; ')}`);
      }
      if (failures.length > 0) this.error(failures.join('\n'));
    },
  };
}
