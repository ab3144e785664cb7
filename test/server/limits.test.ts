/**
 * Limits: frame size, connection counts (total, per address, behind a proxy), room count,
 * the per-socket rate limit, the heartbeat, and a few hundred rooms at once.
 * Small option values keep every wait short; nothing sleeps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import type { ServerMessage } from '../../sdk/protocol.js';
import { clientFor, rawUpgrade, serverFor, TestClient, withTimeout } from './helpers.js';

const V1 = 'p2p-call.v1';

/** Polls a condition the test cannot await as an event (server-side bookkeeping), bounded. */
async function eventually(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function assertBusy(res: { status: number; headers: Record<string, string | string[] | undefined>; body: string }): void {
  assert.equal(res.status, 503);
  assert.equal((JSON.parse(res.body) as { error: string }).error, 'server-busy');
  const retryAfter = res.headers['retry-after'];
  assert.equal(typeof retryAfter, 'string', 'a Retry-After header');
  assert.match(retryAfter as string, /^[1-9]\d*$/, 'Retry-After is a positive whole number of seconds');
}

/** Records every frame the client receives, in arrival order (`next` takes frames out of order). */
function arrivals(client: TestClient): ServerMessage[] {
  const log: ServerMessage[] = [];
  client.socket.on('message', (data) => log.push(JSON.parse(data.toString()) as ServerMessage));
  return log;
}

function describeAnswer(message: ServerMessage): string {
  return message.type === 'error' ? `error:${message.code}` : message.type;
}

describe('max payload: a frame larger than maxPayload closes the socket with 1009', () => {
  test('a 3000-byte frame with maxPayload 2048 → close 1009', async (t) => {
    const { wsUrl } = await serverFor(t, { maxPayload: 2048 });
    const client = await clientFor(t, wsUrl);
    const frame = JSON.stringify({ type: 'ping', pad: 'x'.repeat(3000) });
    assert.ok(Buffer.byteLength(frame) > 3000);
    client.sendRaw(frame);
    assert.equal((await withTimeout(client.closed, 3000, 'not closed')).code, 1009);
  });

  test('a frame of exactly maxPayload bytes is accepted', async (t) => {
    const { wsUrl } = await serverFor(t, { maxPayload: 2048 });
    const client = await clientFor(t, wsUrl);
    const prefix = JSON.stringify({ type: 'ping', pad: '' });
    const frame = JSON.stringify({ type: 'ping', pad: 'x'.repeat(2048 - Buffer.byteLength(prefix)) });
    assert.equal(Buffer.byteLength(frame), 2048);
    client.sendRaw(frame);
    assert.equal((await client.next()).type, 'pong');
    await client.expectQuiet();
  });

  test('a signal under the limit is relayed and both sockets stay open', async (t) => {
    const { wsUrl } = await serverFor(t, { maxPayload: 2048 });
    const a = await clientFor(t, wsUrl);
    const b = await clientFor(t, wsUrl);
    const joinedA = await a.join('payload');
    await b.join('payload');
    await a.next('peer-joined');
    const data = { sdp: 'y'.repeat(1800) };
    a.send({ type: 'signal', data });
    const relayed = await b.next('signal');
    assert.equal(relayed.from, joinedA.peerId);
    assert.deepEqual(relayed.data, data);
    await a.expectQuiet();
    await b.expectQuiet();
  });
});

describe('max connections: past the total limit the upgrade gets 503 server-busy with Retry-After', () => {
  test('the 4th socket with maxConnections 3 gets 503; after one closes a new one is accepted', async (t) => {
    const { port, wsUrl, server } = await serverFor(t, { maxConnections: 3 });
    const clients = [await clientFor(t, wsUrl), await clientFor(t, wsUrl), await clientFor(t, wsUrl)];
    assert.equal(server.stats().connections, 3);

    assertBusy(await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1 }));
    await assert.rejects(TestClient.connect(wsUrl), /unexpected HTTP 503/);

    clients[0]?.close(1000);
    await withTimeout(clients[0]!.closed, 3000, 'not closed');
    // The server frees the slot when it sees the close; retry a bounded number of times.
    let accepted: TestClient | undefined;
    let refusals = 0;
    for (let attempt = 0; attempt < 200 && accepted === undefined; attempt++) {
      try {
        accepted = await clientFor(t, wsUrl);
      } catch (error) {
        assert.match(String(error), /unexpected HTTP 503/, 'only 503 while the slot is being freed');
        refusals++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    assert.ok(accepted !== undefined, `never accepted again (${refusals} refusals)`);
    await accepted.expectQuiet();
  });

  test('a refused upgrade does not use up a slot', async (t) => {
    const { port, wsUrl } = await serverFor(t, { maxConnections: 2 });
    await clientFor(t, wsUrl);
    for (let i = 0; i < 5; i++) assert.equal((await rawUpgrade(port, {})).status, 426);
    const second = await clientFor(t, wsUrl);
    await second.expectQuiet();
  });
});

describe('max connections per address: past it the upgrade gets 503 server-busy', () => {
  test('the 3rd socket from 127.0.0.1 with maxConnectionsPerIp 2 gets 503', async (t) => {
    const { port, wsUrl } = await serverFor(t, { maxConnectionsPerIp: 2 });
    await clientFor(t, wsUrl);
    await clientFor(t, wsUrl);
    assertBusy(await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1 }));
  });

  test('trustProxy: the right-most X-Forwarded-For entry is the address', async (t) => {
    const { wsUrl } = await serverFor(t, { maxConnectionsPerIp: 1, trustProxy: true });
    // Same left-most (client-supplied) entry, different right-most (proxy-added) entries: two addresses.
    const a = await clientFor(t, wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.9, 10.0.0.1' } });
    const b = await clientFor(t, wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.9, 10.0.0.2' } });
    await a.expectQuiet();
    await b.expectQuiet();
  });

  test('trustProxy: a second socket with the same right-most entry gets 503', async (t) => {
    const { port, wsUrl } = await serverFor(t, { maxConnectionsPerIp: 1, trustProxy: true });
    await clientFor(t, wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.9, 10.0.0.1' } });
    // A spoofed left-most entry does not make it a different address.
    assertBusy(
      await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1, 'X-Forwarded-For': '198.51.100.7, 10.0.0.1' }),
    );
  });

  test('without trustProxy, X-Forwarded-For is ignored: the second socket from 127.0.0.1 gets 503', async (t) => {
    const { port, wsUrl } = await serverFor(t, { maxConnectionsPerIp: 1, trustProxy: false });
    await clientFor(t, wsUrl, { headers: { 'X-Forwarded-For': '10.0.0.1' } });
    assertBusy(await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1, 'X-Forwarded-For': '10.0.0.2' }));
  });
});

describe('max rooms: a join that would create one room too many gets server-busy', () => {
  test('with maxRooms 2 the third room is refused with retryAfterMs; the socket stays; existing rooms still join', async (t) => {
    const { wsUrl, server } = await serverFor(t, { maxRooms: 2 });
    const one = await clientFor(t, wsUrl);
    const two = await clientFor(t, wsUrl);
    const third = await clientFor(t, wsUrl);
    const joinedOne = await one.join('room-1');
    await two.join('room-2');

    third.send({ type: 'join', room: 'room-3' });
    const busy = await third.nextError('server-busy');
    assert.equal(busy.ref, 'join');
    assert.equal(typeof busy.retryAfterMs, 'number');
    assert.ok((busy.retryAfterMs ?? 0) > 0, 'retryAfterMs > 0');
    assert.equal(third.socket.readyState, WebSocket.OPEN);
    await third.expectQuiet();
    assert.equal(server.stats().rooms, 2);

    const joined = await third.join('room-1');
    assert.deepEqual(joined.peers, [joinedOne.peerId]);
    assert.equal((await one.next('peer-joined')).peerId, joined.peerId);
  });
});

describe('rate limit: a token bucket per socket (burst twice the rate), drops answered with rate-limited', () => {
  test('20 pings at once with rateLimit 10 get 20 pongs and no error', async (t) => {
    const { wsUrl } = await serverFor(t, { rateLimit: 10 });
    const client = await clientFor(t, wsUrl);
    const log = arrivals(client);
    for (let i = 0; i < 20; i++) client.send({ type: 'ping' });
    // One answer per frame: 20 pongs means none of the 20 was dropped.
    for (let i = 0; i < 20; i++) await client.next();
    assert.deepEqual(log.map(describeAnswer), Array.from({ length: 20 }, () => 'pong'));
  });

  test('60 pings at once with rateLimit 10: the burst of 20 is served, then one rate-limited with retryAfterMs', async (t) => {
    const { wsUrl } = await serverFor(t, { rateLimit: 10 });
    const client = await clientFor(t, wsUrl);
    const log = arrivals(client);
    const started = Date.now();
    for (let i = 0; i < 60; i++) client.send({ type: 'ping' });

    const limited = await client.nextError('rate-limited');
    assert.ok(typeof limited.retryAfterMs === 'number' && limited.retryAfterMs > 0, `retryAfterMs > 0: ${JSON.stringify(limited)}`);

    // Honour the server's hint; then a probe must be served (a `leave` before `join`, whose
    // answer is recognisable). Its answer comes after the answers to all 60 pings.
    await new Promise((resolve) => setTimeout(resolve, limited.retryAfterMs));
    client.send({ type: 'leave' });
    const probe = await client.next('error');
    assert.equal(probe.code, 'not-in-room', `the probe after retryAfterMs is served: ${JSON.stringify(probe)}`);
    const elapsedMs = Date.now() - started;

    const answers = log.map(describeAnswer);
    assert.equal(answers.at(-1), 'error:not-in-room');
    const toPings = answers.slice(0, -1);
    const pongs = toPings.filter((a) => a === 'pong').length;
    const limitedCount = toPings.filter((a) => a === 'error:rate-limited').length;
    assert.equal(pongs + limitedCount, toPings.length, `only pongs and rate-limited: ${answers.join(' ')}`);
    assert.ok(pongs >= 20 && pongs < 60, `the burst of 20 is served, not all 60 (${pongs} pongs)`);
    assert.deepEqual(toPings.slice(0, 20), Array.from({ length: 20 }, () => 'pong'), 'the burst is answered first, in order');
    assert.ok(limitedCount <= 1 + Math.floor(elapsedMs / 1000), `at most one rate-limited per second (${limitedCount} in ${elapsedMs} ms)`);
  });

  test('rate-limited carries no ref: frames over the rate are dropped unparsed (docs/protocol.md)', async (t) => {
    const { wsUrl } = await serverFor(t, { rateLimit: 10 });
    const client = await clientFor(t, wsUrl);
    for (let i = 0; i < 30; i++) client.send({ type: 'ping' });
    const limited = await client.nextError('rate-limited');
    assert.equal(limited.ref, undefined, `a dropped frame is not parsed, so it has no type: ${JSON.stringify(limited)}`);
  });

  test('a flood of 400 frames at rateLimit 1 is closed with 1008 (100 drops within 10 s)', async (t) => {
    const { wsUrl } = await serverFor(t, { rateLimit: 1 });
    const client = await clientFor(t, wsUrl);
    for (let i = 0; i < 400; i++) client.send({ type: 'ping' });
    const { code } = await withTimeout(client.closed, 5000, 'not closed');
    assert.equal(code, 1008);
    const errors = client.pending.filter((m) => m.type === 'error');
    assert.ok(errors.every((m) => m.type === 'error' && m.code === 'rate-limited'), JSON.stringify(errors));
    assert.ok(errors.length <= 2, `rate-limited at most once per second, got ${errors.length}`);
  });
});

/** Each pong must be back within one interval: short enough for quick tests, long enough for a busy CI machine. */
const HEARTBEAT_MS = 300;

describe('heartbeat: a socket that does not answer pings is terminated and treated as a drop', () => {
  test('a seated client with autoPong off is terminated (1006) and its peer gets peer-disconnected', async (t) => {
    // Intervals long enough for the silent client to take its seat before its first missed
    // pong (two intervals after it connects), even on a busy machine.
    const { wsUrl } = await serverFor(t, { pingIntervalMs: HEARTBEAT_MS, reconnectGraceMs: 5000 });
    const live = await clientFor(t, wsUrl);
    await live.join('heartbeat');
    const silent = await clientFor(t, wsUrl, { autoPong: false });
    const joinedSilent = await silent.join('heartbeat');
    await live.next('peer-joined');

    const { code } = await withTimeout(silent.closed, 3000, 'silent socket not terminated');
    assert.equal(code, 1006);
    const notice = await live.next('peer-disconnected');
    assert.equal(notice.peerId, joinedSilent.peerId);
    assert.equal(live.socket.readyState, WebSocket.OPEN);
  });

  test('an unseated client with autoPong off is terminated too (1006)', async (t) => {
    const { wsUrl, server } = await serverFor(t, { pingIntervalMs: HEARTBEAT_MS });
    const silent = await clientFor(t, wsUrl, { autoPong: false });
    const { code } = await withTimeout(silent.closed, 3000, 'silent socket not terminated');
    assert.equal(code, 1006);
    await eventually(() => server.stats().connections === 0, 'the server forgets the terminated socket');
  });

  test('a client that answers pings stays open across 5 ping intervals', async (t) => {
    const { wsUrl } = await serverFor(t, { pingIntervalMs: HEARTBEAT_MS });
    const client = await clientFor(t, wsUrl);
    await client.join('heartbeat-ok');
    let pings = 0;
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        client.socket.on('ping', () => {
          if (++pings === 5) resolve();
        });
        client.socket.once('close', (code) => reject(new Error(`closed with ${code} after ${pings} pings`)));
      }),
      5 * HEARTBEAT_MS + 3000,
      'fewer than 5 pings',
    );
    assert.equal(client.socket.readyState, WebSocket.OPEN);
    await client.expectQuiet();
  });
});

describe('scale: 220 rooms of two at once', () => {
  test('440 clients in 220 rooms join, relay both ways, leave, and no room is left', async (t) => {
    const ROOMS = 220;
    const { wsUrl, server } = await serverFor(t, { maxConnectionsPerIp: 1000 });
    const pairs = await Promise.all(
      Array.from({ length: ROOMS }, async (_, i) => {
        // 440 clients share this process with the server: wait longer than one client would.
        const [a, b] = await Promise.all([clientFor(t, wsUrl, { waitMs: 15_000 }), clientFor(t, wsUrl, { waitMs: 15_000 })]);
        return { room: `scale-${i}`, a, b };
      }),
    );
    assert.equal(server.stats().connections, 2 * ROOMS);

    await Promise.all(
      pairs.map(async (pair) => {
        const joinedA = await pair.a.join(pair.room);
        const joinedB = await pair.b.join(pair.room);
        assert.deepEqual(joinedB.peers, [joinedA.peerId]);
        assert.equal(joinedA.polite, !joinedB.polite);
        assert.equal((await pair.a.next('peer-joined')).peerId, joinedB.peerId);
        Object.assign(pair, { idA: joinedA.peerId, idB: joinedB.peerId });
      }),
    );
    assert.equal(server.stats().rooms, ROOMS);

    await Promise.all(
      pairs.map(async (pair) => {
        const { idA, idB } = pair as typeof pair & { idA: string; idB: string };
        pair.a.send({ type: 'signal', data: { room: pair.room, from: 'a' } });
        pair.b.send({ type: 'signal', data: { room: pair.room, from: 'b' } });
        const atB = await pair.b.next('signal');
        const atA = await pair.a.next('signal');
        assert.equal(atB.from, idA);
        assert.deepEqual(atB.data, { room: pair.room, from: 'a' });
        assert.equal(atA.from, idB);
        assert.deepEqual(atA.data, { room: pair.room, from: 'b' });
      }),
    );

    await Promise.all(
      pairs.map(async (pair) => {
        const { idA } = pair as typeof pair & { idA: string };
        pair.a.send({ type: 'leave' });
        const left = await pair.b.next('peer-left');
        assert.equal(left.peerId, idA);
        assert.equal(left.reason, 'hangup');
        pair.b.send({ type: 'leave' });
        // Answered in order: once these pongs arrive, both leaves have been handled.
        await pair.a.expectQuiet();
        await pair.b.expectQuiet();
      }),
    );
    assert.equal(server.stats().rooms, 0);
  });
});
