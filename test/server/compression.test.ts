/**
 * Bytes on the wire: the bundles and the demo's text files are sent brotli- or gzip-compressed
 * by Accept-Encoding, from the sidecars `npm run build` writes (no per-request compression),
 * with `Vary: Accept-Encoding` and an ETag per coding; 304s per coding; a stale or missing
 * sidecar never serves wrong bytes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, test, type TestContext } from 'node:test';
import { negotiateEncoding } from '../../server/content-encoding.js';
import { serverFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILT = existsSync(join(ROOT, 'dist', 'p2p-call.js.br'));

interface BinaryAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** GET (or HEAD) with exactly the given headers; the body is kept as bytes (no decoding). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<BinaryAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function decoded(answer: BinaryAnswer): Buffer {
  switch (answer.headers['content-encoding']) {
    case 'br':
      return brotliDecompressSync(answer.body);
    case 'gzip':
      return gunzipSync(answer.body);
    case undefined:
      return answer.body;
    default:
      throw new Error(`unexpected Content-Encoding ${String(answer.headers['content-encoding'])}`);
  }
}

describe('Accept-Encoding negotiation', () => {
  const both = ['br', 'gzip'] as const;
  const cases: [string | undefined, string][] = [
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['*', 'br'],
    ['*;q=0', 'identity'],
    ['identity', 'identity'],
    ['deflate', 'identity'],
    ['GZIP ; q=1', 'gzip'],
  ];
  for (const [header, expected] of cases) {
    test(`${JSON.stringify(header)} → ${expected}`, () => assert.equal(negotiateEncoding(header, both), expected));
  }
  test('only codings the file has are chosen', () => assert.equal(negotiateEncoding('br, gzip', ['gzip']), 'gzip'));
});

describe('the built bundles and demo, compressed', { skip: !BUILT && 'run npm run build first' }, () => {
  for (const [path, file] of [
    ['/p2p-call.js', 'dist/p2p-call.js'],
    ['/p2p-call.iife.js', 'dist/p2p-call.iife.js'],
    ['/', 'demo/index.html'],
    ['/demo.js', 'demo/demo.js'],
    ['/demo.css', 'demo/demo.css'],
  ] as const) {
    test(`${path}: br, gzip or identity by Accept-Encoding, each with its ETag and Vary; 304 per coding`, async (t) => {
      const { port } = await serverFor(t);
      const plain = await readFile(join(ROOT, file));
      const answers = {
        br: await get(port, path, { 'Accept-Encoding': 'gzip, deflate, br' }),
        gzip: await get(port, path, { 'Accept-Encoding': 'gzip' }),
        identity: await get(port, path),
      };
      const etags = new Set<string>();
      for (const [coding, answer] of Object.entries(answers)) {
        assert.equal(answer.status, 200, coding);
        assert.equal(answer.headers['content-encoding'], coding === 'identity' ? undefined : coding, coding);
        assert.equal(answer.headers['vary'], 'Accept-Encoding', coding);
        assert.equal(answer.headers['content-length'], String(answer.body.length), coding);
        assert.ok(decoded(answer).equals(plain), `${coding} decodes to the file`);
        etags.add(String(answer.headers['etag']));
        const again = await get(port, path, {
          ...(coding === 'identity' ? {} : { 'Accept-Encoding': coding }),
          'If-None-Match': String(answer.headers['etag']),
        });
        assert.equal(again.status, 304, `${coding} revalidates`);
        assert.equal(again.headers['etag'], answer.headers['etag']);
        assert.equal(again.headers['vary'], 'Accept-Encoding');
      }
      assert.equal(etags.size, 3, 'one ETag per coding');
      // The build's sidecar is what goes out: no compression per request.
      assert.ok(answers.br.body.equals(await readFile(join(ROOT, `${file}.br`))), 'the .br sidecar is sent as is');
      assert.ok(answers.gzip.body.equals(await readFile(join(ROOT, `${file}.gz`))), 'the .gz sidecar is sent as is');
      assert.ok(answers.br.body.length < answers.gzip.body.length && answers.gzip.body.length < plain.length / 2);
      // A validator of another coding is not a match for this one.
      const crossed = await get(port, path, { 'Accept-Encoding': 'gzip', 'If-None-Match': String(answers.br.headers['etag']) });
      assert.equal(crossed.status, 200);
      assert.equal(crossed.headers['content-encoding'], 'gzip');
    });
  }

  test('the source maps are compressed too, without build-time sidecars (compressed once, in memory)', async (t) => {
    const { port } = await serverFor(t);
    assert.ok(!existsSync(join(ROOT, 'dist/p2p-call.js.map.br')), 'no sidecar shipped for a map');
    const plain = await readFile(join(ROOT, 'dist/p2p-call.js.map'));
    const got = await get(port, '/p2p-call.js.map', { 'Accept-Encoding': 'br' });
    assert.equal(got.headers['content-encoding'], 'br');
    assert.ok(decoded(got).equals(plain));
  });

  test('HEAD gives the headers of the compressed answer and no body', async (t) => {
    const { port } = await serverFor(t);
    const got = await get(port, '/p2p-call.js', { 'Accept-Encoding': 'br' });
    const head = await get(port, '/p2p-call.js', { 'Accept-Encoding': 'br' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const name of ['content-encoding', 'content-length', 'etag', 'vary', 'cache-control', 'access-control-allow-origin']) {
      assert.equal(head.headers[name], got.headers[name], name);
    }
  });

  test('the ESM bundle on the wire is under 30 KB with brotli', async (t) => {
    const { port } = await serverFor(t);
    const got = await get(port, '/p2p-call.js', { 'Accept-Encoding': 'br' });
    assert.ok(got.body.length < 30 * 1024, `${got.body.length} bytes`);
  });
});

describe('sidecars that are missing or stale', () => {
  /** A demo directory with one large text file, big enough that compression pays. */
  async function demo(t: TestContext): Promise<{ staticDir: string; text: Buffer }> {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-call-enc-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const staticDir = join(dir, 'demo');
    await mkdir(staticDir);
    const text = Buffer.from(`<!doctype html><title>demo</title>\n${'<p>hello, compressed world</p>\n'.repeat(200)}`);
    await writeFile(join(staticDir, 'index.html'), text);
    await writeFile(join(staticDir, 'logo.png'), Buffer.alloc(4096, 7));
    return { staticDir, text };
  }

  test('a stale sidecar (from an older build) is not sent; the file is compressed once instead', async (t) => {
    const { staticDir, text } = await demo(t);
    await writeFile(join(staticDir, 'index.html.br'), brotliCompressSync(Buffer.from('old content')));
    await writeFile(join(staticDir, 'index.html.gz'), gzipSync(Buffer.from('old content')));
    const { port } = await serverFor(t, { staticDir });
    for (const coding of ['br', 'gzip']) {
      const got = await get(port, '/', { 'Accept-Encoding': coding });
      assert.equal(got.headers['content-encoding'], coding);
      assert.ok(decoded(got).equals(text), `${coding}: the current file, not the stale sidecar`);
    }
  });

  test('a corrupt sidecar is ignored too', async (t) => {
    const { staticDir, text } = await demo(t);
    await writeFile(join(staticDir, 'index.html.br'), 'not brotli at all');
    const { port } = await serverFor(t, { staticDir });
    const got = await get(port, '/', { 'Accept-Encoding': 'br' });
    assert.ok(decoded(got).equals(text));
  });

  test('a rebuilt file gets new bodies and ETags for every coding', async (t) => {
    const { staticDir } = await demo(t);
    const { port } = await serverFor(t, { staticDir });
    const before = await get(port, '/', { 'Accept-Encoding': 'br' });
    const changed = Buffer.from(`<!doctype html><title>v2</title>\n${'<p>changed</p>\n'.repeat(300)}`);
    await writeFile(join(staticDir, 'index.html'), changed);
    const after = await get(port, '/', { 'Accept-Encoding': 'br', 'If-None-Match': String(before.headers['etag']) });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers['etag'], before.headers['etag']);
    assert.ok(decoded(after).equals(changed));
  });

  test('images are sent as they are, without Vary', async (t) => {
    const { staticDir } = await demo(t);
    const { port } = await serverFor(t, { staticDir });
    const got = await get(port, '/logo.png', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-encoding'], undefined);
    assert.equal(got.headers['vary'], undefined);
    assert.equal(got.body.length, 4096);
  });
});
