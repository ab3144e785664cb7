/**
 * Message validation (PROTOCOL.md "Client → server", "Limits"): every bad frame gets
 * `invalid-message` (with `ref` when its type is known) and leaves the socket usable, extra
 * fields are ignored, `ping` gets `pong`, and a flood of invalid frames closes the socket 1008.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode, type ClientMessageType } from '../../sdk/protocol.js';
import { harness, TestClient } from './helpers.js';

const ROOM = 'messages-room';
/** Invalid messages tolerated within 10 s; the next one closes the socket. */
const INVALID_ALLOWED = 20;

/** Expects `invalid-message` with exactly this `ref` (or none) and a human message. */
async function expectInvalid(client: TestClient, ref: ClientMessageType | undefined): Promise<void> {
  const error = await client.nextError('invalid-message');
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0, 'error.message must not be empty');
  if (ref === undefined) assert.equal('ref' in error, false, `no ref expected: ${JSON.stringify(error)}`);
  else assert.equal(error.ref, ref);
}

describe('frames that are not a client message get invalid-message and leave the socket usable', () => {
  const cases: Array<[string, string, ClientMessageType | undefined]> = [
    ['text that is not JSON', 'this is not json', undefined],
    ['truncated JSON', '{"type":"join","room":', undefined],
    ['a JSON array', '[{"type":"ping"}]', undefined],
    ['a JSON string', '"join"', undefined],
    ['a JSON number', '42', undefined],
    ['JSON null', 'null', undefined],
    ['JSON true', 'true', undefined],
    ['an object without type', JSON.stringify({ room: ROOM }), undefined],
    ['a type that is not a string', JSON.stringify({ type: 1, room: ROOM }), undefined],
    ['an unknown type', JSON.stringify({ type: 'hello' }), undefined],
    ['a server-to-client type', JSON.stringify({ type: 'joined', room: ROOM }), undefined],
    ['join without room', JSON.stringify({ type: 'join' }), 'join'],
    ['join with a numeric room', JSON.stringify({ type: 'join', room: 42 }), 'join'],
    ['join with a room containing a space', JSON.stringify({ type: 'join', room: 'a b' }), 'join'],
    ['join with a room containing a slash', JSON.stringify({ type: 'join', room: 'a/b' }), 'join'],
    ['join with a room containing a dot', JSON.stringify({ type: 'join', room: 'a.b' }), 'join'],
    ['join with a room containing non-ASCII', JSON.stringify({ type: 'join', room: 'raum-ü' }), 'join'],
    ['join with a room of 65 characters', JSON.stringify({ type: 'join', room: 'r'.repeat(65) }), 'join'],
    ['join with an empty room', JSON.stringify({ type: 'join', room: '' }), 'join'],
    ['join with a numeric token', JSON.stringify({ type: 'join', room: ROOM, token: 12345 }), 'join'],
    ['join with a null token', JSON.stringify({ type: 'join', room: ROOM, token: null }), 'join'],
    ['join with a numeric resume', JSON.stringify({ type: 'join', room: ROOM, resume: 12345 }), 'join'],
    ['join with an object resume', JSON.stringify({ type: 'join', room: ROOM, resume: { id: 'x' } }), 'join'],
  ];
  for (const [name, frame, ref] of cases) {
    it(`${name}${ref === undefined ? ' (no ref)' : ` (ref ${ref})`}`, async (t) => {
      const h = await harness(t);
      const client = await h.connect();
      client.sendRaw(frame);
      await expectInvalid(client, ref);
      await client.expectQuiet();
      assert.equal(h.server.stats().rooms, 0);
      const joined = await client.join(ROOM);
      assert.equal(joined.room, ROOM);
      assert.equal(joined.polite, true);
    });
  }

  it('a room of 64 characters from the whole alphabet is valid', async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    const room = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
    assert.equal(room.length, 64);
    const joined = await client.join(room);
    assert.equal(joined.room, room);
  });
});

describe('a signal without an object data gets invalid-message (ref signal) and relays nothing', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['without data', { type: 'signal' }],
    ['with data an array', { type: 'signal', data: [{ sdp: 'x' }] }],
    ['with data a string', { type: 'signal', data: '{"sdp":"x"}' }],
    ['with data null', { type: 'signal', data: null }],
    ['with data a number', { type: 'signal', data: 7 }],
  ];
  for (const [name, message] of cases) {
    it(`signal ${name}`, async (t) => {
      const h = await harness(t);
      const a = await h.connect();
      const b = await h.connect();
      const joinedA = await a.join(ROOM);
      await b.join(ROOM);
      await a.next('peer-joined');

      a.send(message);
      await expectInvalid(a, 'signal');
      await b.expectQuiet();

      // Still seated and usable: a valid signal goes through.
      a.send({ type: 'signal', data: { after: 'invalid' } });
      const relayed = await b.next();
      assert.equal(relayed.type, 'signal');
      assert.equal(relayed.from, joinedA.peerId);
      assert.deepEqual(relayed.data, { after: 'invalid' });
    });
  }
});

describe('unknown extra fields are ignored', () => {
  it('join, signal, ping and leave with extra fields work as without them', async (t) => {
    const h = await harness(t);
    const a = await h.connect();
    const b = await h.connect();
    const joinedA = await a.join(ROOM);
    b.send({ type: 'join', room: ROOM, extra: 1, nested: { deep: [true] }, version: 'v9' });
    const joinedB = await b.next();
    assert.equal(joinedB.type, 'joined');
    assert.deepEqual(joinedB.peers, [joinedA.peerId]);
    await a.next('peer-joined');

    a.send({ type: 'signal', data: { n: 1 }, to: 'someone-else', priority: 'high' });
    const relayed = await b.next();
    assert.equal(relayed.type, 'signal');
    assert.deepEqual(relayed.data, { n: 1 });

    b.send({ type: 'ping', id: 7 });
    assert.equal((await b.next()).type, 'pong');

    b.send({ type: 'leave', reason: 'bye' });
    const left = await a.next();
    assert.equal(left.type, 'peer-left');
    assert.equal(left.reason, 'hangup');
  });
});

describe('app-level ping', () => {
  it('ping gets pong, before join and while seated', async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    client.send({ type: 'ping' });
    assert.equal((await client.next()).type, 'pong');
    await client.join(ROOM);
    client.send({ type: 'ping' });
    assert.equal((await client.next()).type, 'pong');
  });
});

describe('a flood of invalid messages closes the socket with 1008', () => {
  it(`${INVALID_ALLOWED} invalid messages do not close the socket`, async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    for (let i = 0; i < INVALID_ALLOWED; i++) client.sendRaw(`not json ${i}`);
    for (let i = 0; i < INVALID_ALLOWED; i++) await expectInvalid(client, undefined);
    await client.expectQuiet();
    const joined = await client.join(ROOM);
    assert.equal(joined.room, ROOM);
    assert.equal(client.socket.readyState, WebSocket.OPEN);
  });

  it(`the ${INVALID_ALLOWED + 1}st invalid within 10 s still gets its error, then close 1008 and nothing more`, async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    for (let i = 0; i < INVALID_ALLOWED + 1; i++) client.sendRaw(`not json ${i}`);
    // Sent before the server has read the 21st: none of these may be answered.
    client.send({ type: 'ping' });
    client.sendRaw('still not json');
    client.send({ type: 'join', room: ROOM });

    const { code } = await client.closed;
    assert.equal(code, CloseCode.policyViolation);
    const received = client.pending;
    assert.equal(received.length, INVALID_ALLOWED + 1, `expected exactly ${INVALID_ALLOWED + 1} frames, got ${JSON.stringify(received)}`);
    for (const message of received) {
      assert.equal(message.type, 'error');
      assert.equal(message.code, 'invalid-message');
    }
    assert.equal(h.server.stats().rooms, 0);
  });

  it('valid messages in between do not reset the count', async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    for (let i = 0; i < INVALID_ALLOWED; i++) {
      client.sendRaw(`not json ${i}`);
      client.send({ type: 'ping' });
    }
    // Only the counts matter here, not how errors and pongs interleave.
    const answers: string[] = [];
    for (let i = 0; i < 2 * INVALID_ALLOWED; i++) {
      const message = await client.next();
      answers.push(message.type === 'error' ? message.code : message.type);
    }
    assert.equal(answers.filter((a) => a === 'invalid-message').length, INVALID_ALLOWED);
    assert.equal(answers.filter((a) => a === 'pong').length, INVALID_ALLOWED);
    assert.equal(client.socket.readyState, WebSocket.OPEN);
    client.sendRaw('one too many');
    await expectInvalid(client, undefined);
    assert.equal((await client.closed).code, CloseCode.policyViolation);
  });
});
