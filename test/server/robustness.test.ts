/**
 * Hostile input: thousands of malformed frames (random bytes, wrong types, extreme numbers,
 * deep nesting, prototype keys, very long strings, invalid UTF-8) must not crash the server,
 * pollute prototypes or break service for anyone else. Frames are generated from a fixed seed,
 * so a failure replays exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { ERROR_CODES, MAX_DATA_DEPTH, type ServerMessage } from '../../sdk/protocol.js';
import { clientFor, pairIn, serverFor, TestClient } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Frame generation

/** mulberry32: a small seeded PRNG, so the flood is the same on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Frame = { kind: 'text'; data: string } | { kind: 'binary'; data: Buffer } | { kind: 'bad-utf8'; data: Buffer };

const DEPTH = 5000;
const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
const deepObject = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
const LONG = 'L'.repeat(60_000);

/** Hand-picked malformed or hostile frames; none is a `ping` (a pong answers only the probe). */
const HOSTILE: string[] = [
  // not JSON / not an object
  '', ' ', '{', '}', '}{', '[', 'nul', 'undefined', 'NaN', 'Infinity', '0x10', "{'type':'join'}", '{"type":"join",}',
  '1', '-0', '1e308', '-1e308', '1e999', 'null', 'true', '"join"', '[]', '[{"type":"join","room":"r"}]', '""',
  '"\\ud800"', '\u0000', '{"type":"join","room":"r"',
  // wrong types
  '{}', '{"type":1}', '{"type":null}', '{"type":true}', '{"type":["join"]}', '{"type":{"type":"join"}}', '{"type":"JOIN","room":"r"}',
  '{"type":"join "}', '{"type":"join"}', '{"type":"join","room":123}', '{"type":"join","room":""}', '{"type":"join","room":null}',
  '{"type":"join","room":["r"]}', '{"type":"join","room":"has space"}', '{"type":"join","room":"ümlaut"}',
  `{"type":"join","room":"${'r'.repeat(65)}"}`, '{"type":"join","room":"r","token":5}', '{"type":"join","room":"r","resume":{}}',
  '{"type":"join","room":"r","resume":null}', '{"type":"join","room":"r","token":["t"]}',
  '{"type":"signal"}', '{"type":"signal","data":"x"}', '{"type":"signal","data":[1]}', '{"type":"signal","data":null}',
  '{"type":"signal","data":1e308}', '{"type":"leave","extra":[1,2,3]}', '{"type":"pong"}', '{"type":"joined"}',
  '{"type":"error","code":"server-shutdown"}',
  // extreme numbers
  '{"type":1e308}', '{"type":-0}', '{"type":"join","room":1e308}', '{"type":"join","room":-0}',
  '{"type":"signal","data":{"n":1e308,"m":-0,"big":123456789012345678901234567890,"inf":1e999,"tiny":5e-324}}',
  '{"type":"join","room":"numbers","retry":-1e308,"token":"1e308"}',
  // deep nesting within the payload limit
  deepArray, '['.repeat(DEPTH), `{"type":"signal","data":${deepObject}}`, `{"type":"join","room":"deep","x":${deepObject}}`,
  `{"type":"signal","data":{"list":${deepArray}}}`, '{"a":'.repeat(DEPTH),
  // prototype keys
  '{"__proto__":{"type":"join","room":"proto"}}', '{"type":"join","room":"r1","__proto__":{"polluted":1}}',
  '{"type":"join","room":"r1","constructor":{"prototype":{"polluted":1}}}', '{"type":"join","room":"__proto__"}',
  '{"type":"join","room":"constructor"}', '{"type":"join","room":"prototype"}', '{"type":"join","room":"hasOwnProperty"}',
  '{"type":"join","room":"r1","token":"__proto__"}', '{"type":"join","room":"r1","resume":"__proto__"}',
  '{"type":"join","room":"r1","resume":"constructor"}', '{"type":"signal","data":{"__proto__":{"polluted":1}}}',
  '{"type":"signal","data":{"constructor":{"prototype":{"polluted":1}}}}', '{"type":"signal","data":{"prototype":{"polluted":1}}}',
  '{"type":"__proto__"}', '{"type":"constructor"}', '{"type":"toString"}', '{"type":"hasOwnProperty"}',
  '{"__proto__":null,"type":"leave"}', '{"type":"leave","__proto__":{"type":"join","room":"evil"}}',
  '{"type":"signal","__proto__":{"data":{"polluted":1}}}',
  // very long strings
  `{"type":"join","room":"${LONG}"}`, `{"type":"${LONG}"}`, `{"type":"join","room":"long","token":"${LONG}"}`,
  `{"type":"join","room":"long","resume":"${LONG}"}`, `{"type":"signal","data":{"s":"${LONG}"}}`, `{"${LONG}":1}`, `"${LONG}"`,
];

function randomBytes(random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

function randomPrintable(random: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(32 + Math.floor(random() * 95));
  return text;
}

/** `count` frames: every hostile one, then a seeded mix of random bytes, text and hostile ones. */
function generateFrames(count: number, seed: number): Frame[] {
  const random = prng(seed);
  const frames: Frame[] = [];
  for (let i = 0; i < count; i++) {
    if (i < HOSTILE.length) {
      frames.push({ kind: 'text', data: HOSTILE[i] as string });
      continue;
    }
    const pick = random();
    if (i % 60 === 59) {
      // Invalid UTF-8 in a text frame: 0xff never occurs in UTF-8.
      const bytes = randomBytes(random, 1 + Math.floor(random() * 64));
      bytes[0] = 0xff;
      frames.push({ kind: 'bad-utf8', data: bytes });
    } else if (pick < 0.25) {
      frames.push({ kind: 'binary', data: randomBytes(random, 1 + Math.floor(random() * 512)) });
    } else if (pick < 0.5) {
      frames.push({ kind: 'text', data: randomPrintable(random, 1 + Math.floor(random() * 300)) });
    } else if (pick < 0.6) {
      // Valid JSON of random shape with a real message type and garbage fields.
      const type = ['join', 'signal', 'leave'][Math.floor(random() * 3)];
      frames.push({ kind: 'text', data: JSON.stringify({ type, room: randomPrintable(random, 8), data: random() < 0.5 ? random() : {} }) });
    } else {
      frames.push({ kind: 'text', data: HOSTILE[Math.floor(random() * HOSTILE.length)] as string });
    }
  }
  return frames;
}

function sendFrame(client: TestClient, frame: Frame): void {
  if (frame.kind === 'binary') client.socket.send(frame.data, { binary: true });
  else if (frame.kind === 'bad-utf8') client.socket.send(frame.data, { binary: false });
  else client.socket.send(frame.data);
}

interface FloodReport {
  connections: number;
  closeCodes: Map<number, number>;
  answers: ServerMessage[];
}

/**
 * Sends `frames` in batches, each followed by a `ping` whose `pong` proves the batch was handled;
 * whenever the server closes the socket, notes the code and carries on from a new one.
 */
async function flood(wsUrl: string, frames: Frame[], report: FloodReport, batch = 8): Promise<void> {
  let index = 0;
  while (index < frames.length) {
    if (report.connections > frames.length) throw new Error('reconnect loop does not progress');
    const client = await TestClient.connect(wsUrl);
    report.connections++;
    let closedByServer = false;
    try {
      while (index < frames.length) {
        for (const frame of frames.slice(index, index + batch)) sendFrame(client, frame);
        index += batch;
        client.send({ type: 'ping' });
        await client.next('pong', 10_000);
      }
    } catch (error) {
      if (client.socket.readyState !== WebSocket.CLOSED) throw error;
      closedByServer = true;
    }
    report.answers.push(...client.pending);
    if (closedByServer) {
      const { code } = await client.closed;
      report.closeCodes.set(code, (report.closeCodes.get(code) ?? 0) + 1);
    } else {
      client.drop();
    }
  }
}

function prototypeSnapshot(): Record<string, string[]> {
  return {
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
    function: Object.getOwnPropertyNames(Function.prototype).sort(),
    string: Object.getOwnPropertyNames(String.prototype).sort(),
  };
}

function assertNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  assert.equal(probe['polluted'], undefined, '({}).polluted');
  assert.equal(probe['x'], undefined, '({}).x');
  assert.equal(probe['type'], undefined, '({}).type');
  assert.equal(probe['data'], undefined, '({}).data');
  assert.equal(Object.getPrototypeOf(probe), Object.prototype);
  assert.equal(Object.getPrototypeOf(Object.prototype), null);
}

// ---------------------------------------------------------------------------------------------

describe('hostile flood: thousands of malformed frames neither crash, pollute nor degrade the server', () => {
  test('3000 frames from 4 sockets at once; afterwards prototypes are untouched and a fresh pair is served', async (t) => {
    const before = prototypeSnapshot();
    const { wsUrl, server } = await serverFor(t, {
      rateLimit: 1_000_000,
      reconnectGraceMs: 100,
      maxConnectionsPerIp: 1000,
    });
    const report: FloodReport = { connections: 0, closeCodes: new Map(), answers: [] };
    const workers = 4;
    const frames = generateFrames(3000, 0x5eed);
    const share = Math.ceil(frames.length / workers);
    await Promise.all(
      Array.from({ length: workers }, (_, w) => flood(wsUrl, frames.slice(w * share, (w + 1) * share), report)),
    );

    // The only closes: 1008 for an invalid flood, 1007 for invalid UTF-8 (the WebSocket rule).
    for (const code of report.closeCodes.keys()) {
      assert.ok(code === 1008 || code === 1007, `unexpected close code ${code}: ${JSON.stringify([...report.closeCodes])}`);
    }
    assert.ok(report.answers.some((m) => m.type === 'error' && m.code === 'invalid-message'), 'malformed frames were answered');
    for (const message of report.answers) {
      if (message.type === 'error') {
        assert.ok((ERROR_CODES as readonly string[]).includes(message.code), `unknown error code ${message.code}`);
        assert.notEqual(message.code, 'rate-limited', 'the high rate limit never cut in');
      }
    }

    assertNoPollution();
    assert.deepEqual(prototypeSnapshot(), before, 'built-in prototypes gained or lost properties');

    // Service continues: a fresh pair relays a signal whose data carries a __proto__ key.
    const { a, b, joinedA, joinedB, idA, peerJoined } = await pairIn(t, wsUrl, 'after-the-flood');
    assert.deepEqual(joinedB.peers, [joinedA.peerId]);
    assert.equal(peerJoined.peerId, joinedB.peerId);
    const text = '{"sdp":"v=0","__proto__":{"polluted":"yes","x":1},"nested":{"constructor":{"prototype":{"polluted":1}}}}';
    a.sendRaw(`{"type":"signal","data":${text}}`);
    const relayed = await b.next('signal');
    assert.equal(relayed.from, idA);
    assert.deepEqual(relayed.data, JSON.parse(text));
    assert.ok(Object.hasOwn(relayed.data, '__proto__'), 'the __proto__ key arrives as an own key');
    assertNoPollution();
    assert.ok(server.stats().connections >= 2);
  });
});

describe('prototype keys are plain data: relayed, never applied', () => {
  test('signal data {"__proto__":{"x":1}} is relayed as an own key without polluting', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b, idA } = await pairIn(t, wsUrl, 'proto-signal');
    a.sendRaw('{"type":"signal","data":{"__proto__":{"x":1}}}');
    const relayed = await b.next('signal');
    assert.equal(relayed.from, idA);
    assert.ok(Object.hasOwn(relayed.data, '__proto__'), 'own __proto__ key kept');
    assert.equal(Object.getPrototypeOf(relayed.data), Object.prototype);
    assert.deepEqual(relayed.data, JSON.parse('{"__proto__":{"x":1}}'));
    assert.equal((relayed.data as Record<string, unknown>)['x'], undefined, 'x did not become inherited');
    assertNoPollution();
    await a.expectQuiet();
    await b.expectQuiet();
  });

  test('constructor/prototype keys in signal data are relayed as data', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b } = await pairIn(t, wsUrl, 'ctor-signal');
    const text = '{"constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":2},"toString":"x","hasOwnProperty":1}';
    a.sendRaw(`{"type":"signal","data":${text}}`);
    assert.deepEqual((await b.next('signal')).data, JSON.parse(text));
    assertNoPollution();
  });

  test('a join with __proto__ and constructor keys is an ordinary join of the named room', async (t) => {
    const { wsUrl, server } = await serverFor(t);
    const client = await clientFor(t, wsUrl);
    client.sendRaw('{"type":"join","room":"plain","__proto__":{"room":"other","token":"x"},"constructor":{"prototype":{"polluted":1}}}');
    const joined = await client.next('joined');
    assert.equal(joined.room, 'plain');
    assert.equal(server.stats().rooms, 1);
    assertNoPollution();
  });

  test('a message whose type exists only under __proto__ is invalid', async (t) => {
    const { wsUrl } = await serverFor(t);
    const client = await clientFor(t, wsUrl);
    client.sendRaw('{"__proto__":{"type":"join","room":"evil"}}');
    await client.nextError('invalid-message');
    await client.expectQuiet();
  });

  for (const room of ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf']) {
    test(`a room named ${room} is an ordinary room of two`, async (t) => {
      const { wsUrl, server } = await serverFor(t);
      const { a, b, idA } = await pairIn(t, wsUrl, room);
      a.send({ type: 'signal', data: { room } });
      const relayed = await b.next('signal');
      assert.equal(relayed.from, idA);
      assert.deepEqual(relayed.data, { room });
      const third = await clientFor(t, wsUrl);
      third.send({ type: 'join', room });
      await third.nextError('room-full');
      assert.equal(server.stats().rooms, 1);
      a.send({ type: 'leave' });
      await b.next('peer-left');
      b.send({ type: 'leave' });
      await b.expectQuiet();
      assert.equal(server.stats().rooms, 0);
      assertNoPollution();
    });
  }
});

describe('deep and huge values within the payload limit', () => {
  test('a 5000-deep nested array frame gets invalid-message and the socket stays usable', async (t) => {
    const { wsUrl } = await serverFor(t);
    const client = await clientFor(t, wsUrl);
    client.sendRaw(deepArray);
    await client.nextError('invalid-message');
    client.sendRaw('['.repeat(DEPTH));
    await client.nextError('invalid-message');
    await client.expectQuiet();
  });

  test('a 5000-deep nested object as signal data is refused with invalid-message, not silently lost', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b } = await pairIn(t, wsUrl, 'deep');
    a.sendRaw(`{"type":"signal","data":${deepObject}}`);
    // Such data could not be re-encoded for the relay; the sender is told instead.
    const error = await a.nextError('invalid-message');
    assert.equal(error.ref, 'signal');
    assert.match(error.message, /deeper than 32/);
    await b.expectQuiet();
    await a.expectQuiet();
  });

  test('signal data nested exactly MAX_DATA_DEPTH levels is relayed intact', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b } = await pairIn(t, wsUrl, 'deep-ok');
    let data = '1';
    for (let depth = 0; depth < MAX_DATA_DEPTH; depth++) data = `{"a":${data}}`;
    a.sendRaw(`{"type":"signal","data":${data}}`);
    const relayed = await b.next('signal');
    assert.equal(JSON.stringify(relayed.data), data);
    data = `{"a":${data}}`;
    a.sendRaw(`{"type":"signal","data":${data}}`);
    assert.equal((await a.nextError('invalid-message')).ref, 'signal');
  });

  test('extreme numbers in signal data arrive as the same JSON numbers', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b } = await pairIn(t, wsUrl, 'numbers');
    const text = '{"max":1.7976931348623157e308,"big":1e308,"neg":-1e308,"zero":-0,"tiny":5e-324,"int":9007199254740993}';
    a.sendRaw(`{"type":"signal","data":${text}}`);
    const relayed = await b.next('signal');
    // JSON has no -0 on the way out; compare as JSON values.
    assert.equal(JSON.stringify(relayed.data), JSON.stringify(JSON.parse(text)));
  });

  test('a 60000-character string in signal data is relayed intact', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b } = await pairIn(t, wsUrl, 'long');
    const data = { sdp: LONG, note: 'ünïcödé ✓ 🎥' };
    a.send({ type: 'signal', data });
    assert.deepEqual((await b.next('signal')).data, data);
  });

  test('a very long room name or type gets invalid-message with a short reply', async (t) => {
    const { wsUrl } = await serverFor(t);
    const client = await clientFor(t, wsUrl);
    client.sendRaw(`{"type":"join","room":"${LONG}"}`);
    const roomError = await client.nextError('invalid-message');
    assert.equal(roomError.ref, 'join');
    client.sendRaw(`{"type":"${LONG}"}`);
    const typeError = await client.nextError('invalid-message');
    assert.equal(typeError.ref, undefined, 'an unknown type is not echoed as ref');
    assert.ok(JSON.stringify(typeError).length < 1000, 'the reply does not echo the 60000-character type');
    await client.expectQuiet();
  });

  test('binary and invalid-UTF-8 frames: binary gets invalid-message, bad UTF-8 closes with 1007', async (t) => {
    const { wsUrl } = await serverFor(t);
    const binary = await clientFor(t, wsUrl);
    binary.socket.send(Buffer.from('{"type":"ping"}'), { binary: true });
    await binary.nextError('invalid-message');
    await binary.expectQuiet();

    const badUtf8 = await clientFor(t, wsUrl);
    badUtf8.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.equal((await badUtf8.closed).code, 1007);
  });
});
