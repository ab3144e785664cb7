/**
 * Signal relay (PROTOCOL.md "Server → client" `signal`, "Seats and politeness"): relayed as
 * sent and in order, refused before join or with nobody to receive it, and queued (at most 64)
 * for a held seat until its peer takes it back.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MAX_QUEUED_SIGNALS } from '../../sdk/protocol.js';
import type { SignalingServerOptions } from '../../server/index.js';
import { dropAndWait, harness as serverHarness, TestClient, type Harness } from './helpers.js';

const LONG_GRACE_MS = 5_000;
const ROOM = 'relay-room';

/** A server for one test (see helpers' `harness`) that holds seats LONG_GRACE_MS and seats in ROOM. */
const harness = (t: TestContext, options: SignalingServerOptions = {}): Promise<Harness> =>
  serverHarness(t, { reconnectGraceMs: LONG_GRACE_MS, ...options }, ROOM);

/** Takes the next `count` signals and returns their `seq` values. */
async function takeSeqs(client: TestClient, count: number): Promise<unknown[]> {
  const seqs: unknown[] = [];
  for (let i = 0; i < count; i++) seqs.push((await client.next('signal')).data['seq']);
  return seqs;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('signal is relayed to the other peer as sent', () => {
  it('arrives as {type: signal, from, data} with data unmodified (nested objects, unicode), both ways', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    const data = {
      kind: 'description',
      generation: 3,
      description: {
        type: 'offer',
        sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n',
      },
      candidate: { candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null },
      nested: { deeper: { deepest: [1, 2.5, -7, 1e21, 0.1, true, false, null, '', [], {}, [[{ x: [] }]]] } },
      unicode: '日本語 · Ünïcödé · emoji 🎥📞👩‍👩‍👧 · עברית · e\u0301 · \u0000\u2028\u2029 · "quoted" \\ back',
      'key with spaces / and "quotes"': { 'ключ': 'значение', '': 'empty key' },
      type: 'not-the-message-type',
      from: 'not-the-sender',
    };

    a.client.send({ type: 'signal', data });
    const atB = await b.client.next();
    assert.equal(atB.type, 'signal');
    assert.equal(atB.from, a.joined.peerId);
    assert.deepEqual(atB.data, data);

    const reply = { kind: 'candidate', candidate: null, note: '返信 ✓' };
    b.client.send({ type: 'signal', data: reply });
    const atA = await a.client.next();
    assert.equal(atA.type, 'signal');
    assert.equal(atA.from, b.joined.peerId);
    assert.deepEqual(atA.data, reply);

    // The sender gets no echo.
    await a.client.expectQuiet();
    await b.client.expectQuiet();
  });

  it('arrives in order: 500 signals in a row come out in sequence', async (t) => {
    const count = 500;
    // Above the default rate limit on purpose; the limit is not what this test is about.
    const h = await harness(t, { rateLimit: 1_000 });
    const [a, b] = await h.pair();
    for (let seq = 0; seq < count; seq++) a.client.send({ type: 'signal', data: { seq } });
    assert.deepEqual(await takeSeqs(b.client, count), range(0, count));
    await a.client.expectQuiet();
    await b.client.expectQuiet();
  });
});

describe('signal with nobody to receive it', () => {
  it('signal before join is refused with not-in-room', async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    client.send({ type: 'signal', data: { early: true } });
    const error = await client.nextError('not-in-room');
    assert.equal(error.ref, 'signal');
    const joined = await client.join(ROOM);
    assert.equal(joined.room, ROOM);
  });

  it('signal while alone is dropped with peer-absent', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    a.client.send({ type: 'signal', data: { lonely: true } });
    const error = await a.client.nextError('peer-absent');
    assert.equal(error.ref, 'signal');

    // Nothing was kept for a later joiner.
    const b = await h.seat();
    await a.client.next('peer-joined');
    await b.client.expectQuiet();
  });

  it('signal after the other peer left is dropped with peer-absent', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    b.client.send({ type: 'leave' });
    await a.client.next('peer-left');
    a.client.send({ type: 'signal', data: { late: true } });
    const error = await a.client.nextError('peer-absent');
    assert.equal(error.ref, 'signal');
  });
});

describe('signals for a held seat are queued', () => {
  it(`the first ${MAX_QUEUED_SIGNALS} are queued and each one after that gets peer-absent`, async (t) => {
    const extra = 6;
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);

    for (let seq = 0; seq < MAX_QUEUED_SIGNALS + extra; seq++) a.client.send({ type: 'signal', data: { seq } });
    for (let i = 0; i < extra; i++) {
      const error = await a.client.nextError('peer-absent');
      assert.equal(error.ref, 'signal');
    }
    await a.client.expectQuiet();

    const b2 = await h.connect();
    const joined = await b2.join(ROOM, { resume: b.joined.resume });
    assert.equal(joined.peerId, b.joined.peerId);
    assert.deepEqual(await takeSeqs(b2, MAX_QUEUED_SIGNALS), range(0, MAX_QUEUED_SIGNALS));
    await b2.expectQuiet();
  });

  it('the queued signals arrive in order after the resumer\'s joined, before anything sent later', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    for (let seq = 0; seq < 10; seq++) a.client.send({ type: 'signal', data: { seq } });
    await a.client.expectQuiet();

    const b2 = await h.connect();
    b2.send({ type: 'join', room: ROOM, resume: b.joined.resume });
    const first = await b2.next();
    assert.equal(first.type, 'joined', `joined must come before the queued signals, got ${JSON.stringify(first)}`);
    assert.equal((await a.client.next('peer-reconnected')).peerId, b.joined.peerId);
    for (let seq = 10; seq < 15; seq++) a.client.send({ type: 'signal', data: { seq } });

    for (const seq of range(0, 15)) {
      const signal = await b2.next();
      assert.equal(signal.type, 'signal');
      assert.equal(signal.from, a.joined.peerId);
      assert.equal(signal.data['seq'], seq);
    }
    await b2.expectQuiet();
  });

  it('a leave by the sender discards what it queued for the held seat', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    for (let seq = 0; seq < 5; seq++) a.client.send({ type: 'signal', data: { seq } });
    await a.client.expectQuiet();
    a.client.send({ type: 'leave' });
    await a.client.expectQuiet();

    const b2 = await h.connect();
    const joined = await b2.join(ROOM, { resume: b.joined.resume });
    assert.deepEqual(joined.peers, []);
    await b2.expectQuiet();
  });

  it('the queue is dropped when the held seat\'s grace ends', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 300 });
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    for (let seq = 0; seq < 3; seq++) a.client.send({ type: 'signal', data: { seq } });
    const left = await a.client.next('peer-left');
    assert.deepEqual([left.peerId, left.reason], [b.joined.peerId, 'timeout']);
    await a.client.expectQuiet();

    // A newcomer in the freed seat gets none of it; what A sends now reaches it.
    const c = await h.seat();
    assert.deepEqual(c.joined.peers, [a.joined.peerId]);
    await c.client.expectQuiet();
    a.client.send({ type: 'signal', data: { seq: 'fresh' } });
    const signal = await c.client.next();
    assert.equal(signal.type, 'signal');
    assert.equal(signal.data['seq'], 'fresh');
  });
});
