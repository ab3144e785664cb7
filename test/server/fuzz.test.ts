/**
 * Property-based tests (fast-check): the protocol validators on any input, and a live server fed
 * random and mutated frames by several clients, with the invariants checked after each run.
 * A short run here; `npm run test:soak` runs the long one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_DATA_DEPTH, parseClientMessage, parseFrame, parseServerMessage } from '../../sdk/protocol.js';
import { checkInvariants, frame, type Frame } from './fuzz.js';
import { harness, httpGet, type TestClient } from './helpers.js';

describe('protocol validators on any input', () => {
  test('parseFrame and parseClientMessage never throw, and accept only well-typed messages', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        const parsed = parseFrame(text);
        if (!parsed.ok) return;
        const result = parseClientMessage(parsed.value);
        if (!result.ok) {
          assert.equal(typeof result.reason, 'string');
          return;
        }
        const message = result.message;
        assert.ok(['join', 'signal', 'leave', 'ping'].includes(message.type));
        if (message.type === 'join') {
          assert.match(message.room, /^[A-Za-z0-9_-]{1,64}$/);
          assert.ok(message.token === undefined || typeof message.token === 'string');
          assert.ok(message.resume === undefined || typeof message.resume === 'string');
        }
        if (message.type === 'signal') assert.ok(typeof message.data === 'object' && message.data !== null && !Array.isArray(message.data));
      }),
      { numRuns: 2_000 },
    );
  });

  test('prototype-pollution keys stay plain data', () => {
    fc.assert(
      fc.property(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }), (key, value) => {
        const text = `{"type":"signal","data":{"${key}":${JSON.stringify(value)}}}`;
        const parsed = parseFrame(text);
        assert.ok(parsed.ok);
        parseClientMessage(parsed.value);
        assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'x'), false);
      }),
    );
  });

  test('signal data deeper than the bound is refused with a reason, never thrown', () => {
    let deep: unknown = {};
    for (let i = 0; i < MAX_DATA_DEPTH + 5; i++) deep = { d: deep };
    const result = parseClientMessage({ type: 'signal', data: deep });
    assert.equal(result.ok, false);
  });

  test('parseServerMessage never throws on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void parseServerMessage(value)), { numRuns: 1_000 });
  });
});

/** Sends one fuzzed frame; a client that is closed by then is skipped. */
function send(client: TestClient, item: Frame): void {
  if (client.socket.readyState !== client.socket.OPEN) return;
  switch (item.kind) {
    case 'text':
      client.sendRaw(item.text);
      return;
    case 'binary':
      client.sendRaw(Buffer.from(item.bytes));
      return;
    case 'fragmented': {
      const middle = Math.floor(item.text.length / 2);
      client.socket.send(item.text.slice(0, middle), { fin: false });
      client.socket.send(item.text.slice(middle), { fin: true });
      return;
    }
    case 'drop':
      client.drop();
      return;
  }
}

/** Resolves once every frame `client` sent before has been handled (or the socket is gone). */
async function settled(client: TestClient): Promise<void> {
  if (client.socket.readyState !== client.socket.OPEN) return;
  client.send({ type: 'ping' });
  await client.next('pong', 5_000).catch(() => undefined);
}

async function eventually(check: () => void, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Runs `runs` fuzz rounds of up to `steps` frames from four clients against one server. */
export async function fuzzLiveServer(t: Parameters<typeof harness>[0], runs: number, steps: number): Promise<number> {
  const graceMs = 1_500;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const h = await harness(t, { reconnectGraceMs: graceMs, maxPayload: 16 * 1024, maxConnectionsPerIp: 10_000 }, 'a');
  let frames = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(3), frame), { minLength: 1, maxLength: steps }), async (plan) => {
      const clients = await Promise.all([0, 1, 2, 3].map(() => h.connect()));
      for (const [index, item] of plan) send(clients[index] as TestClient, item);
      frames += plan.length;
      await Promise.all(clients.map(settled));
      await eventually(() => checkInvariants(h.server, graceMs), 2_000);
      for (const client of clients) client.drop();
      await eventually(() => checkInvariants(h.server, graceMs), 2_000);
    }),
    { numRuns: runs },
  );
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
  assert.equal((await httpGet(`${h.httpUrl}/healthz`)).status, 200);
  return frames;
}

describe('a live server under random and mutated frames', () => {
  test('four clients, random frames: never a crash, at most two seats per room, every seat owned', async (t) => {
    const frames = await fuzzLiveServer(t, 30, 40);
    assert.ok(frames > 30);
  });
});
