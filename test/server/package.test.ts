/**
 * The npm package as it would be published: `npm pack --dry-run` (files and size), publint and
 * @arethetypeswrong/cli (ESM-only profile) on the packed tarball, the metadata an adopter
 * looks for, useful source maps, and the editor data derived from custom-elements.json.
 * Needs `npm run build` first (npm test runs it); everything runs offline on the local package.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs build script without types
import { vscodeData, webTypes } from '../../scripts/editor-data.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = (name: string) => join(ROOT, 'node_modules/.bin', name);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string; keywords: string[]; homepage: string; repository: { url: string }; bugs: { url: string };
  scripts: Record<string, string>; exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>; sideEffects: string[]; peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional: boolean }>; dependencies: Record<string, string>; 'web-types': string; customElements: string;
};

interface PackResult {
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

function run(command: string, args: string[]) {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
}

let packed: PackResult;
let files: Set<string>;
let tarballDir: string;
let tarball: string;

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist/web-types.json')) && existsSync(join(ROOT, 'dist/p2p-call.js.br')), 'run npm run build first');
  // --ignore-scripts: test the build that is there; prepack would rebuild it.
  const dry = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
  assert.equal(dry.status, 0, dry.stderr);
  packed = (JSON.parse(dry.stdout) as PackResult[])[0] as PackResult;
  files = new Set(packed.files.map((f) => f.path));
  tarballDir = mkdtempSync(join(tmpdir(), 'p2p-call-pack-'));
  const real = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballDir]);
  assert.equal(real.status, 0, real.stderr);
  tarball = join(tarballDir, (JSON.parse(real.stdout) as { filename: string }[])[0]?.filename ?? '');
});
after(() => rmSync(tarballDir, { recursive: true, force: true }));

describe('npm pack', () => {
  test('ships what adopters need: every export target, the bin, bundles with their codings, demo, docs metadata', () => {
    const targets = Object.values(pkg.exports).flatMap((target) => (typeof target === 'string' ? [target] : [target.types, target.default]));
    for (const target of [...targets, ...Object.values(pkg.bin), pkg['web-types'], pkg.customElements]) {
      assert.ok(files.has(target.replace(/^\.\//, '')), `${target} is in the package`);
    }
    for (const file of ['LICENSE', 'README.md', 'package.json', 'demo/index.html', 'demo/index.html.br', 'demo/index.html.gz',
      'dist/p2p-call.js', 'dist/p2p-call.js.br', 'dist/p2p-call.js.gz', 'dist/p2p-call.js.map', 'dist/p2p-call.iife.js', 'dist/p2p-call.iife.js.br']) {
      assert.ok(files.has(file), `${file} is in the package`);
    }
  });

  test('and nothing else: no tests, no TypeScript sources, no build caches, no dotfiles, no map sidecars', () => {
    for (const file of files) {
      assert.match(file, /^(dist\/|demo\/|LICENSE$|README\.md$|package\.json$|custom-elements\.json$)/, `${file} does not belong in the package`);
      assert.doesNotMatch(file, /(^|\/)\.|\.tsbuildinfo$|\.map\.(br|gz)$|(^|\/)test\//, file);
      if (file.endsWith('.ts')) assert.match(file, /\.d\.ts$/, `${file}: only declarations`);
    }
  });

  // Most of it is source maps (about 1.7 MB unpacked), every one usable on its own (next test);
  // the bound catches a stray directory or maps without their sources doubling it.
  test('size: under 1 MB packed and 3 MB unpacked', () => {
    assert.ok(packed.size < 1024 * 1024, `packed ${packed.size} bytes`);
    assert.ok(packed.unpackedSize < 3 * 1024 * 1024, `unpacked ${packed.unpackedSize} bytes`);
  });

  test('every source map is usable on its own: each source has its content inside', () => {
    const maps = [...files].filter((file) => file.endsWith('.map'));
    assert.ok(maps.length > 10);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${file}: sourcesContent for every source`);
      assert.ok(map.sourcesContent?.every((content) => typeof content === 'string' && content.length > 0), `${file}: no empty source`);
    }
  });

  test('@lit/react and React stay out of the script-tag bundles', () => {
    for (const file of ['dist/p2p-call.js', 'dist/p2p-call.iife.js']) {
      const code = readFileSync(join(ROOT, file), 'utf8');
      assert.doesNotMatch(code, /createComponent|react\.element|__REACT|useLayoutEffect/, file);
      const map = JSON.parse(readFileSync(join(ROOT, `${file}.map`), 'utf8')) as { sources: string[] };
      assert.ok(!map.sources.some((source) => /@lit\/react\/|node_modules\/react(-dom)?\//.test(source)), `${file}: no React sources`);
    }
  });
});

describe('package.json', () => {
  test('license, repository, homepage, bugs and keywords are there; LICENSE is MIT', () => {
    assert.equal(pkg.license, 'MIT');
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
    assert.match(pkg.repository.url, /^git\+https:\/\//);
    assert.match(pkg.homepage, /^https:\/\//);
    assert.match(pkg.bugs.url, /^https:\/\//);
    assert.ok(pkg.keywords.includes('webrtc') && pkg.keywords.includes('web-component'));
  });

  test('the build runs before packing (prepack), not on every install (no prepare)', () => {
    assert.equal(pkg.scripts['prepare'], undefined);
    assert.match(pkg.scripts['prepack'] ?? '', /npm run build/);
  });

  test('React and the typed frameworks are optional peers; @lit/react is a dependency of p2p-call/react only', () => {
    for (const name of ['react', 'preact', 'vue', 'svelte']) {
      assert.ok(pkg.peerDependencies[name], `${name} peer`);
      assert.equal(pkg.peerDependenciesMeta[name]?.optional, true, `${name} optional`);
    }
    assert.ok(pkg.dependencies['@lit/react']);
    assert.deepEqual(pkg.sideEffects.sort(), ['./dist/widget/define.js', './dist/widget/react.js']);
  });
});

describe('linters on the packed tarball', () => {
  test('publint --strict: all good', () => {
    const result = run(BIN('publint'), ['run', tarball, '--strict']);
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /All good!/);
  });

  test('@arethetypeswrong/cli --profile esm-only: exit 0, and problems only in the resolutions that profile ignores', () => {
    const result = run(BIN('attw'), [tarball, '--profile', 'esm-only', '--format', 'json']);
    assert.equal(result.status, 0, result.stdout.slice(0, 2000));
    const report = JSON.parse(result.stdout) as { analysis: { entrypoints: Record<string, unknown> }; problems: Record<string, { entrypoint: string; resolutionKind?: string }[]> };
    // ESM-only: CommonJS `require` (node16-cjs) and pre-exports resolution (node10) are out of scope.
    const counted = Object.values(report.problems).flat().filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    assert.deepEqual(counted, []);
    for (const entry of Object.keys(pkg.exports)) {
      if (!entry.endsWith('.json')) assert.ok(entry in report.analysis.entrypoints, `attw checked ${entry}`);
    }
  });
});

describe('custom-elements.json and the editor data', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'custom-elements.json'), 'utf8')) as {
    modules: { path: string; exports?: { kind: string; name: string; declaration: { module?: string } }[]; declarations?: {
      tagName?: string; events?: { name: string; type?: { text: string } }[]; cssProperties?: { name: string; syntax?: string }[];
    }[] }[];
  };
  const element = manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.tagName === 'p2p-call');

  test('exported as p2p-call/custom-elements.json and named by the "customElements" field', () => {
    assert.equal(pkg.exports['./custom-elements.json'], './custom-elements.json');
    assert.equal(pkg.customElements, 'custom-elements.json');
  });

  test('every module path points at a shipped .js file; the tag is defined in dist/widget/define.js', () => {
    for (const module of manifest.modules) {
      assert.ok(files.has(module.path), `${module.path} is shipped`);
      for (const exported of module.exports ?? []) {
        if (exported.declaration.module !== undefined) assert.ok(files.has(exported.declaration.module), `${exported.declaration.module} is shipped`);
      }
    }
    const definition = manifest.modules.flatMap((m) => (m.exports ?? []).map((e) => ({ module: m.path, e }))).find(({ e }) => e.kind === 'custom-element-definition');
    assert.deepEqual({ module: definition?.module, name: definition?.e.name }, { module: 'dist/widget/define.js', name: 'p2p-call' });
  });

  test("every event's detail is typed, written out from the element's types", () => {
    const events = new Map((element?.events ?? []).map((e) => [e.name, e.type?.text]));
    assert.equal(events.size, 9);
    for (const [name, type] of events) assert.match(type ?? '', /^CustomEvent<\{ .+ \}>$/, name);
    assert.match(events.get('p2p-state-change') ?? '', /state: 'idle' \| 'preview' \| .*'error'; previous: /);
    assert.match(events.get('p2p-error') ?? '', /code: .*'room-full'.*; message: string; fatal: boolean/);
    assert.match(events.get('p2p-peer-leave') ?? '', /reason: 'hangup' \| 'timeout'/);
  });

  test('every CSS custom property has a syntax', () => {
    const syntax = new Map((element?.cssProperties ?? []).map((p) => [p.name, p.syntax]));
    assert.ok(syntax.size >= 5);
    assert.equal(syntax.get('--p2p-call-accent'), '<color>');
    assert.equal(syntax.get('--p2p-call-radius'), '<length>');
    for (const [name, value] of syntax) assert.ok(value, `${name} has a syntax`);
  });

  test('VS Code custom data and web-types.json are what the manifest gives (regenerated here), and exported', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'dist/vscode.html-custom-data.json'), 'utf8')), vscodeData(manifest));
    assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'dist/web-types.json'), 'utf8')), webTypes(manifest, pkg));
    const vscode = vscodeData(manifest) as { tags: { name: string; attributes: { name: string; values?: { name: string }[]; valueSet?: string }[] }[] };
    const policy = vscode.tags[0]?.attributes.find((a) => a.name === 'ice-transport-policy');
    assert.deepEqual(policy?.values?.map((v) => v.name).sort(), ['all', 'relay']);
    assert.equal(vscode.tags[0]?.attributes.find((a) => a.name === 'autojoin')?.valueSet, 'v');
    assert.equal(pkg['web-types'], './dist/web-types.json');
  });
});
