/**
 * The HTTP routes added for the element's round two (issue 12): `GET /rooms/<room>` (how
 * many seats are taken, for the lobby's early "room full"), the languages next to the
 * bundle (`/lang/<tag>.js`), and a friendly page instead of JSON for a broken call link.
 * The handler is driven directly with an occupancy lookup, the way the server wires it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createRequestHandler } from '../../server/http.js';
import { harness, httpGet, rawRequest, portOf } from './helpers.js';

describe('room occupancy, language files and the not-found page', () => {
  let dir: string;
  let server: Server;
  let bare: Server;
  const seats = new Map([['full-room', 2], ['half-room', 1]]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2p-call-room-pages-'));
    await mkdir(join(dir, 'lang'));
    await writeFile(join(dir, 'lang', 'de.js'), 'export default{join:"Anruf beitreten"};\n');
    await writeFile(join(dir, 'lang', 'pt-BR.js'), 'export default{};\n');
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>demo</title>\n');
    const log = pino({ level: 'silent' });
    const options = { staticDir: dir, bundleDir: dir, version: '1.2.3', log };
    server = createServer(createRequestHandler({ ...options, occupancy: async (room) => seats.get(room) ?? 0 }));
    bare = createServer(createRequestHandler(options));
    await Promise.all([server, bare].map((s) => new Promise<void>((done) => s.listen(0, '127.0.0.1', done))));
  });
  after(async () => {
    await Promise.all([server, bare].map((s) => new Promise((done) => s.close(done))));
    await rm(dir, { recursive: true, force: true });
  });

  test('GET /rooms/<room> answers occupancy and capacity, CORS *, never cached', async () => {
    for (const [room, occupancy] of [['full-room', 2], ['half-room', 1], ['nobody-here', 0]] as const) {
      const res = await rawRequest(portOf(server.address()), `/rooms/${room}`, { Origin: 'https://host.example' });
      assert.equal(res.status, 200, room);
      assert.deepEqual(JSON.parse(res.body), { room, occupancy, capacity: 2 });
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    for (const path of ['/rooms/bad%20room', '/rooms/', `/rooms/${'x'.repeat(65)}`, '/rooms/a/b']) {
      assert.equal((await rawRequest(portOf(server.address()), path)).status, 404, path);
    }
  });

  test('without an occupancy lookup /rooms/<room> is a 404 (the lobby then just does not know)', async () => {
    const res = await rawRequest(portOf(bare.address()), '/rooms/full-room');
    assert.equal(res.status, 404);
  });

  test('/lang/<tag>.js and /v/<version>/lang/<tag>.js serve the language modules with CORS', async () => {
    for (const path of ['/lang/de.js', '/lang/pt-BR.js', '/v/1.2.3/lang/de.js']) {
      const res = await rawRequest(portOf(server.address()), path);
      assert.equal(res.status, 200, path);
      assert.match(String(res.headers['content-type']), /javascript/, path);
      assert.equal(res.headers['access-control-allow-origin'], '*', path);
    }
    for (const path of ['/lang/../index.html', '/lang/de.ts', '/lang/xx.js', '/lang/DE-de.js', '/v/9.9.9/lang/de.js']) {
      assert.equal((await rawRequest(portOf(server.address()), path)).status, 404, path);
    }
  });

  test('a browser following a broken call link gets a friendly HTML page; API clients still get JSON', async () => {
    const html = await rawRequest(portOf(server.address()), '/r/bad%20room!', { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.equal(html.status, 404);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.match(html.body, /There is no call at this address/);
    assert.match(html.body, /href="\/"/);
    const json = await rawRequest(portOf(server.address()), '/r/bad%20room!');
    assert.equal(json.status, 404);
    assert.deepEqual(JSON.parse(json.body), { error: 'not-found' });
  });
});

describe('GET /rooms/<room> on the real server reads the room store', () => {
  test('0, then 1, then 2 seats taken; a held seat counts', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 30_000 });
    const occupancy = async () => JSON.parse((await httpGet(`${h.httpUrl}/rooms/room`)).body).occupancy as number;
    assert.equal(await occupancy(), 0);
    const a = await h.seat();
    assert.equal(await occupancy(), 1);
    const b = await h.seat();
    await a.client.next('peer-joined');
    assert.equal(await occupancy(), 2);
    b.client.drop();
    await a.client.next('peer-disconnected');
    assert.equal(await occupancy(), 2, 'the held seat is still taken');
  });

  test('not offered where joins need a token (who is in a room is as private as the room)', async (t) => {
    const h = await harness(t, { tokenSecret: 'token-secret-0123456789abcdef' });
    assert.equal((await httpGet(`${h.httpUrl}/rooms/room`)).status, 404);
  });
});
