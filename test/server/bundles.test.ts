/**
 * Static answers of the server's own HTTP port: the script-tag bundles (EMBED.md, "Script-tag
 * embed": CORS, ETag/304, short cache, immutable versioned path), the demo page and its files
 * (no traversal, no dotfiles), and the rollup build's own guarantees for the IIFE
 * (`import.meta.url` from `document.currentScript`, CSP rule). Requests are sent raw so that
 * paths like `/%2e%2e/` reach the server exactly as written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test, type TestContext } from 'node:test';
import { packageVersion } from '../../server/package-root.js';
import { capturingLogger, rawRequest, type RunningServer, serverFor, startServer } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = packageVersion(ROOT);
const JS = 'text/javascript; charset=utf-8';
const SHORT_CACHE = 'public, max-age=300';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A fresh temporary directory, removed after the test `t` (or by the caller, without `t`). */
async function tempDir(t: TestContext | undefined, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `p2p-call-${prefix}-`));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const BUNDLE = 'customElements.get("p2p-call")||console.log("esm");\n';
const IIFE = '!function(){customElements.get("p2p-call")||console.log("iife")}();\n';
const PAGE = '<!doctype html><title>p2p-call demo</title>\n';

/** A package-like layout: bundles, a demo directory, and a secret next to (outside) the demo. */
async function fixture(t?: TestContext) {
  const dir = await tempDir(t, 'static');
  const bundleDir = join(dir, 'dist');
  const staticDir = join(dir, 'demo');
  await mkdir(bundleDir);
  await mkdir(join(staticDir, 'sub'), { recursive: true });
  await Promise.all([
    writeFile(join(bundleDir, 'p2p-call.js'), BUNDLE),
    writeFile(join(bundleDir, 'p2p-call.js.map'), '{"version":3,"sources":[],"mappings":""}'),
    writeFile(join(bundleDir, 'p2p-call.iife.js'), IIFE),
    writeFile(join(bundleDir, 'p2p-call.iife.js.map'), '{"version":3,"sources":[],"mappings":""}'),
    writeFile(join(staticDir, 'index.html'), PAGE),
    writeFile(join(staticDir, 'app.js'), 'console.log("demo");\n'),
    writeFile(join(staticDir, 'style.css'), 'body{margin:0}\n'),
    writeFile(join(staticDir, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n'),
    writeFile(join(staticDir, 'site.webmanifest'), '{"name":"p2p-call"}\n'),
    writeFile(join(staticDir, '.env'), 'SECRET=in-a-dotfile\n'),
    writeFile(join(staticDir, 'notes.txt'), 'not a served type\n'),
    writeFile(join(staticDir, 'sub', 'nested.js'), 'console.log("nested");\n'),
    writeFile(join(dir, 'package.json'), '{"secret":"outside-the-demo"}\n'),
  ]);
  return { dir, bundleDir, staticDir };
}

/** One server on a fixture for a whole `describe`; closed and cleaned up after it. */
function sharedServer(): () => RunningServer {
  let server: RunningServer | undefined;
  let dir: string | undefined;
  before(async () => {
    const files = await fixture();
    dir = files.dir;
    server = await startServer({ bundleDir: files.bundleDir, staticDir: files.staticDir });
  });
  after(async () => {
    await server?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (server === undefined) throw new Error('the server did not start');
    return server;
  };
}

describe('script-tag bundles: /p2p-call.js and /p2p-call.iife.js', () => {
  const running = sharedServer();
  const port = () => running().port;

  for (const [path, body] of [['/p2p-call.js', BUNDLE], ['/p2p-call.iife.js', IIFE]] as const) {
    test(`GET ${path} → 200 JS, CORS *, strong ETag, public max-age=300`, async () => {
      const res = await rawRequest(port(), path, { Origin: 'https://host.example' });
      assert.equal(res.status, 200);
      assert.equal(res.body, body);
      assert.equal(res.headers['content-type'], JS);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['cache-control'], SHORT_CACHE);
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(body)));
      assert.match(String(res.headers['etag']), /^"[A-Za-z0-9_-]{20,}"$/, 'a strong (not W/) quoted ETag');
    });
  }

  test('the source maps are served alongside, as JSON with the same CORS and cache', async () => {
    for (const path of ['/p2p-call.js.map', '/p2p-call.iife.js.map']) {
      const res = await rawRequest(port(), path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', path);
      assert.equal(res.headers['access-control-allow-origin'], '*', path);
      assert.equal(res.headers['cache-control'], SHORT_CACHE, path);
      assert.equal((JSON.parse(res.body) as { version: number }).version, 3, path);
    }
  });

  test('If-None-Match with the current ETag → 304 without a body, validators kept', async () => {
    const first = await rawRequest(port(), '/p2p-call.js');
    const etag = String(first.headers['etag']);
    for (const value of [etag, `W/${etag}`, `"something-else", ${etag}`, '*']) {
      const res = await rawRequest(port(), '/p2p-call.js', { 'If-None-Match': value });
      assert.equal(res.status, 304, value);
      assert.equal(res.body, '', value);
      assert.equal(res.headers['etag'], etag, value);
      assert.equal(res.headers['cache-control'], SHORT_CACHE, value);
      assert.equal(res.headers['access-control-allow-origin'], '*', value);
    }
  });

  test('If-None-Match with a stale ETag → 200 with the body', async () => {
    const res = await rawRequest(port(), '/p2p-call.js', { 'If-None-Match': '"stale-etag"' });
    assert.equal(res.status, 200);
    assert.equal(res.body, BUNDLE);
  });

  test(`/v/${VERSION}/… serves the same files, immutable for a year`, async () => {
    for (const [name, body] of [['p2p-call.js', BUNDLE], ['p2p-call.iife.js', IIFE]] as const) {
      const plain = await rawRequest(port(), `/${name}`);
      const res = await rawRequest(port(), `/v/${VERSION}/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.body, body, name);
      assert.equal(res.headers['content-type'], JS, name);
      assert.equal(res.headers['access-control-allow-origin'], '*', name);
      assert.equal(res.headers['cache-control'], IMMUTABLE, name);
      assert.equal(res.headers['etag'], plain.headers['etag'], name);
    }
    const map = await rawRequest(port(), `/v/${VERSION}/p2p-call.js.map`);
    assert.equal(map.status, 200);
    assert.equal(map.headers['cache-control'], IMMUTABLE);
    const etag = String((await rawRequest(port(), '/p2p-call.js')).headers['etag']);
    const revalidated = await rawRequest(port(), `/v/${VERSION}/p2p-call.js`, { 'If-None-Match': etag });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers['cache-control'], IMMUTABLE);
  });

  test('any other version, or another file under /v/<version>/ → 404', async () => {
    for (const path of ['/v/0.0.0-not-this/p2p-call.js', `/v/${VERSION}x/p2p-call.js`, '/v//p2p-call.js', `/v/${VERSION}/index.html`, `/v/${VERSION}/p2p-call.css`, `/v/${VERSION}/`]) {
      const res = await rawRequest(port(), path);
      assert.equal(res.status, 404, path);
      assert.deepEqual(JSON.parse(res.body), { error: 'not-found' }, path);
    }
  });

  test('HEAD → the same status and headers as GET, no body', async () => {
    const full = await rawRequest(port(), '/p2p-call.iife.js');
    const head = await rawRequest(port(), '/p2p-call.iife.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    for (const name of ['content-type', 'content-length', 'etag', 'cache-control', 'access-control-allow-origin']) {
      assert.equal(head.headers[name], full.headers[name], name);
    }
    const conditional = await rawRequest(port(), '/p2p-call.iife.js', { 'If-None-Match': String(full.headers['etag']) }, 'HEAD');
    assert.equal(conditional.status, 304);
  });

  test('other methods → 405 with Allow: GET, HEAD', async () => {
    const res = await rawRequest(port(), '/p2p-call.js', {}, 'POST');
    assert.equal(res.status, 405);
    assert.equal(res.headers['allow'], 'GET, HEAD');
  });
});

describe('bundles on disk: missing and rebuilt', () => {
  test('not built → 404 {"error":"not-built"} and a log line saying to run npm run build; served once built', async (t) => {
    const bundleDir = await tempDir(t, 'empty-dist');
    const { logger, lines } = capturingLogger('info');
    const server = await serverFor(t, { bundleDir, logger });

    for (const path of ['/p2p-call.js', '/p2p-call.iife.js', `/v/${VERSION}/p2p-call.js`]) {
      const res = await rawRequest(server.port, path);
      assert.equal(res.status, 404, path);
      assert.deepEqual(JSON.parse(res.body), { error: 'not-built' }, path);
      assert.match(String(res.headers['content-type']), /^application\/json/, path);
    }
    const warnings = lines.filter((line) => line.includes('npm run build'));
    assert.equal(warnings.length, 2, `one line per missing bundle, not per request: ${warnings.join('')}`);
    assert.ok(warnings.some((line) => line.includes('p2p-call.iife.js')));

    // Built while the server runs: served at once, no restart.
    await writeFile(join(bundleDir, 'p2p-call.js'), BUNDLE);
    const res = await rawRequest(server.port, '/p2p-call.js');
    assert.equal(res.status, 200);
    assert.equal(res.body, BUNDLE);
  });

  test('a rebuilt (rewritten) bundle is served with a new ETag; the old ETag no longer gets 304', async (t) => {
    const { bundleDir, staticDir } = await fixture(t);
    const server = await serverFor(t, { bundleDir, staticDir });

    const before = await rawRequest(server.port, '/p2p-call.js');
    const oldEtag = String(before.headers['etag']);
    assert.equal((await rawRequest(server.port, '/p2p-call.js', { 'If-None-Match': oldEtag })).status, 304);

    const rebuilt = 'customElements.get("p2p-call")||console.log("esm, rebuilt");\n';
    await writeFile(join(bundleDir, 'p2p-call.js'), rebuilt);
    const after = await rawRequest(server.port, '/p2p-call.js', { 'If-None-Match': oldEtag });
    assert.equal(after.status, 200);
    assert.equal(after.body, rebuilt);
    assert.notEqual(after.headers['etag'], oldEtag);
    assert.equal((await rawRequest(server.port, '/p2p-call.js', { 'If-None-Match': String(after.headers['etag']) })).status, 304);

    // The same holds for demo files.
    const page = await rawRequest(server.port, '/');
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>p2p-call, new demo</title>\n');
    const newPage = await rawRequest(server.port, '/', { 'If-None-Match': String(page.headers['etag']) });
    assert.equal(newPage.status, 200);
    assert.match(newPage.body, /new demo/);
  });
});

describe('the demo: /, /r/<room> and the files next to index.html', () => {
  const running = sharedServer();
  const port = () => running().port;

  test('/ and /r/<room> serve index.html, no-cache with an ETag', async () => {
    const home = await rawRequest(port(), '/');
    const absoluteForm = 'http://127.0.0.1/r/abc'; // as a proxy may send it
    for (const path of ['/', '/r/abc', '/r/standup-42', '/r/A_b-9', `/r/${'x'.repeat(64)}`, '/index.html', '/r/abc?x=1', absoluteForm]) {
      const res = await rawRequest(port(), path);
      assert.equal(res.status, 200, path);
      assert.equal(res.body, PAGE, path);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', path);
      assert.equal(res.headers['cache-control'], 'no-cache', path);
      assert.equal(res.headers['etag'], home.headers['etag'], path);
    }
    const revalidated = await rawRequest(port(), '/r/abc', { 'If-None-Match': String(home.headers['etag']) });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers['cache-control'], 'no-cache');
  });

  test('room names outside [A-Za-z0-9_-]{1,64} → 404', async () => {
    for (const path of ['/r/bad%20room!', '/r/bad+room', '/r/', '/r', `/r/${'x'.repeat(65)}`, '/r/abc/def', '/r/a.b', '/r/%2e%2e']) {
      const res = await rawRequest(port(), path);
      assert.equal(res.status, 404, path);
    }
  });

  test('files directly in the demo directory are served by name with their content type', async () => {
    const expected: [string, string, string][] = [
      ['/app.js', JS, 'console.log("demo");\n'],
      ['/style.css', 'text/css; charset=utf-8', 'body{margin:0}\n'],
      ['/icon.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>\n'],
      ['/site.webmanifest', 'application/manifest+json', '{"name":"p2p-call"}\n'],
    ];
    for (const [path, type, body] of expected) {
      const res = await rawRequest(port(), path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['content-type'], type, path);
      assert.equal(res.headers['cache-control'], 'no-cache', path);
      assert.ok(res.headers['etag'], path);
      assert.equal(res.body, body, path);
    }
    const head = await rawRequest(port(), '/style.css', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String(Buffer.byteLength('body{margin:0}\n')));
  });

  test('traversal, dotfiles, subdirectories and other extensions are refused (404, nothing leaked)', async () => {
    const attempts = [
      '/..%2fpackage.json',
      '/%2e%2e/package.json',
      '/%2e%2e/',
      '/%2E%2E%2Fpackage.json',
      '/../package.json',
      '/..',
      '/.env',
      '/%2eenv',
      '/sub/nested.js',
      '/sub%2fnested.js',
      '/notes.txt',
      '/missing.js',
      '//package.json',
      '/app.js/',
      'http://127.0.0.1/%2e%2e/package.json',
    ];
    for (const path of attempts) {
      const res = await rawRequest(port(), path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /outside-the-demo|in-a-dotfile|nested/, path);
    }
  });

  test('/healthz still answers as before', async () => {
    const res = await rawRequest(port(), '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal((JSON.parse(res.body) as { ok: boolean }).ok, true);
  });
});

describe('the real build output (npm run build)', () => {
  const built = join(ROOT, 'dist', 'p2p-call.js');

  test('dist/p2p-call.js and the IIFE are served from the package by default', { skip: !existsSync(built) && 'run npm run build first' }, async (t) => {
    const server = await serverFor(t);
    for (const name of ['p2p-call.js', 'p2p-call.iife.js']) {
      const onDisk = await readFile(join(ROOT, 'dist', name), 'utf8');
      for (const path of [`/${name}`, `/v/${VERSION}/${name}`]) {
        const res = await rawRequest(server.port, path);
        assert.equal(res.status, 200, path);
        assert.equal(res.body, onDisk, path);
        assert.equal(res.headers['content-type'], JS, path);
        assert.equal(res.headers['access-control-allow-origin'], '*', path);
        assert.equal(res.headers['cache-control'], path.startsWith('/v/') ? IMMUTABLE : SHORT_CACHE, path);
        assert.equal((await rawRequest(server.port, path, { 'If-None-Match': String(res.headers['etag']) })).status, 304, path);
      }
      assert.doesNotMatch(onDisk, /\beval\s*\(|\bnew\s+Function\b/, `${name} is CSP-safe`);
      assert.ok(existsSync(join(ROOT, 'dist', `${name}.map`)), `${name}.map exists`);
    }
  });
});

describe('rollup.config.mjs on a fixture entry', () => {
  function rollup(input: string, outDir: string): Promise<{ code: number; output: string }> {
    const bin = join(ROOT, 'node_modules', 'rollup', 'dist', 'bin', 'rollup');
    const args = [bin, '-c', 'rollup.config.mjs', '--configInput', input, '--configOutDir', outDir];
    return new Promise((resolve) => {
      execFile(process.execPath, args, { cwd: ROOT }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr });
      });
    });
  }

  test('the IIFE takes import.meta.url from document.currentScript, captured while the script runs', async (t) => {
    const dir = await tempDir(t, 'rollup');
    const input = join(dir, 'entry.js');
    await writeFile(input, [
      'export const loadedFrom = import.meta.url;',
      "export function signalingUrl() { const url = new URL('/ws', import.meta.url); url.protocol = url.protocol.replace('http', 'ws'); return url.href; }",
      '',
    ].join('\n'));
    const { code, output } = await rollup(input, join(dir, 'out'));
    assert.equal(code, 0, output);
    assert.match(output, /p2p-call\.js\s+raw\s+[\d.]+ KB\s+gzip\s+[\d.]+ KB\s+brotli\s+[\d.]+ KB/);
    assert.match(output, /p2p-call\.iife\.js\s+raw/);

    const esm = await readFile(join(dir, 'out', 'p2p-call.js'), 'utf8');
    assert.match(esm, /import\.meta\.url/, 'the module keeps import.meta.url');
    const iife = await readFile(join(dir, 'out', 'p2p-call.iife.js'), 'utf8');
    assert.doesNotMatch(iife, /import\.meta/, 'no import.meta in a classic script');

    const document = {
      currentScript: { tagName: 'SCRIPT', src: 'https://calls.example.com/p2p-call.iife.js' } as { tagName: string; src: string } | null,
      baseURI: 'https://host.example/page',
    };
    const context: Record<string, unknown> = { document, URL };
    runInNewContext(iife, context);
    // After the script has run, document.currentScript is null again.
    document.currentScript = null;
    const api = context['P2PCall'] as { loadedFrom: string; signalingUrl(): string };
    assert.equal(api.loadedFrom, 'https://calls.example.com/p2p-call.iife.js');
    assert.equal(api.signalingUrl(), 'wss://calls.example.com/ws');
  });

  test('a bundle containing new Function fails the build (strict CSP)', async (t) => {
    const dir = await tempDir(t, 'rollup-csp');
    const input = join(dir, 'entry.js');
    await writeFile(input, "export const f = new Function('return 1');\n");
    const { code, output } = await rollup(input, join(dir, 'out'));
    assert.notEqual(code, 0, output);
    assert.match(output, /contains new Function, which a strict CSP blocks/);
  });
});
