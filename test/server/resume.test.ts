/**
 * Resume (PROTOCOL.md "Resume"): a single-use value that takes one's own seat back, from a new
 * socket, whether the seat is held or still live; everything else about it is invalid-resume.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { SignJWT } from 'jose';
import { CloseCode } from '../../sdk/protocol.js';
import type { SignalingServerOptions } from '../../server/index.js';
import { dropAndWait, harness as serverHarness, TestClient, type Harness } from './helpers.js';

const LONG_GRACE_MS = 5_000;
const ROOM = 'resume-room';
const TOKEN_SECRET = 'resume-test-token-secret-0123456789';

/** A server for one test (see helpers' `harness`) that holds seats LONG_GRACE_MS and seats in ROOM. */
const harness = (t: TestContext, options: SignalingServerOptions = {}): Promise<Harness> =>
  serverHarness(t, { reconnectGraceMs: LONG_GRACE_MS, ...options }, ROOM);

function roomToken(room: string): Promise<string> {
  return new SignJWT({ room })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(TOKEN_SECRET));
}

/** Sends a join with `resume` and expects invalid-resume; the socket stays unseated. */
async function expectInvalidResume(client: TestClient, room: string, resume: string, extra: { token?: string } = {}): Promise<void> {
  client.send({ type: 'join', room, resume, ...extra });
  const error = await client.nextError('invalid-resume');
  assert.equal(error.ref, 'join');
  client.send({ type: 'signal', data: {} });
  await client.nextError('not-in-room');
}

describe('resume takes a held seat back', () => {
  it('same peerId, same polite, a new resume value, and the other peer gets peer-reconnected', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);

    const b2 = await h.connect();
    const joined = await b2.join(ROOM, { resume: b.joined.resume });
    assert.equal(joined.room, ROOM);
    assert.equal(joined.peerId, b.joined.peerId);
    assert.equal(joined.polite, b.joined.polite);
    assert.deepEqual(joined.peers, [a.joined.peerId]);
    assert.equal(typeof joined.resume, 'string');
    assert.notEqual(joined.resume, b.joined.resume);
    const reconnected = await a.client.next();
    assert.equal(reconnected.type, 'peer-reconnected');
    assert.equal(reconnected.peerId, b.joined.peerId);
    await a.client.expectQuiet();
    await b2.expectQuiet();

    // The polite seat too.
    await dropAndWait({ client: b2, joined }, a);
    const a2 = await h.connect();
    const back = await a2.join(ROOM, { resume: a.joined.resume });
    assert.equal(back.peerId, a.joined.peerId);
    assert.equal(back.polite, true);
    assert.equal((await b2.next('peer-reconnected')).peerId, a.joined.peerId);
  });
});

describe('resume takes a live seat back from its old socket', () => {
  it('the old socket gets session-replaced and close 4001; the other peer gets only peer-reconnected', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();

    const b2 = await h.connect();
    const joined = await b2.join(ROOM, { resume: b.joined.resume });
    assert.equal(joined.peerId, b.joined.peerId);
    assert.equal(joined.polite, b.joined.polite);
    assert.deepEqual(joined.peers, [a.joined.peerId]);

    const replaced = await b.client.next();
    assert.equal(replaced.type, 'error');
    assert.equal(replaced.code, 'session-replaced');
    assert.equal((await b.client.closed).code, CloseCode.sessionReplaced);

    const first = await a.client.next();
    assert.equal(first.type, 'peer-reconnected', `expected peer-reconnected first, got ${JSON.stringify(first)}`);
    assert.equal(first.peerId, b.joined.peerId);
    // The old socket's close is no drop: no peer-disconnected or peer-left afterwards either.
    await a.client.expectQuiet();

    // And the new socket carries the seat.
    a.client.send({ type: 'signal', data: { to: 'new socket' } });
    assert.deepEqual((await b2.next('signal')).data, { to: 'new socket' });
  });
});

describe('a resume value is single-use and replaced by each joined', () => {
  it('a second use is refused with invalid-resume and disturbs nobody', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    const b2 = await h.seat(ROOM, { resume: b.joined.resume });
    await a.client.next('peer-reconnected');

    const thief = await h.connect();
    await expectInvalidResume(thief, ROOM, b.joined.resume);
    await a.client.expectQuiet();
    await b2.client.expectQuiet();
    // The refused socket stays open and usable.
    const elsewhere = await thief.join('elsewhere');
    assert.deepEqual(elsewhere.peers, []);
  });

  it('leave invalidates it', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    b.client.send({ type: 'leave' });
    assert.equal((await a.client.next('peer-left')).reason, 'hangup');

    await expectInvalidResume(b.client, ROOM, b.joined.resume);
    const other = await h.connect();
    await expectInvalidResume(other, ROOM, b.joined.resume);
    await a.client.expectQuiet();
  });
});

describe('a resume value that does not fit is refused with invalid-resume', () => {
  it('one for another room', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    const other = await h.connect();
    await expectInvalidResume(other, 'another-room', b.joined.resume);
    assert.equal(h.server.stats().rooms, 1);
    await a.client.expectQuiet();
  });

  it('one whose seat expired when the grace ended', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 150 });
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    const left = await a.client.next('peer-left');
    assert.equal(left.reason, 'timeout');
    const late = await h.connect();
    await expectInvalidResume(late, ROOM, b.joined.resume);
    await a.client.expectQuiet();
  });

  it('garbage values, including a tampered copy of a real one', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    const real = b.joined.resume;
    const middle = Math.floor(real.length / 2);
    const tampered = real.slice(0, middle) + (real[middle] === 'A' ? 'B' : 'A') + real.slice(middle + 1);
    const client = await h.connect();
    for (const value of ['garbage', '', 'x'.repeat(2_000), tampered, `${real}x`, real.slice(0, -1)]) {
      await expectInvalidResume(client, ROOM, value);
    }
    await a.client.expectQuiet();
    // None of that used the real value up.
    const back = await client.join(ROOM, { resume: real });
    assert.equal(back.peerId, b.joined.peerId);
  });
});

describe('resume on a server that requires tokens', () => {
  it('a bad resume says invalid-resume, not unauthorized, with or without a valid token', async (t) => {
    const h = await harness(t, { tokenSecret: TOKEN_SECRET });
    const client = await h.connect();
    await expectInvalidResume(client, ROOM, 'garbage');
    await expectInvalidResume(client, ROOM, 'garbage', { token: await roomToken(ROOM) });
    // The client then joins afresh with its token.
    const joined = await client.join(ROOM, { token: await roomToken(ROOM) });
    assert.equal(joined.polite, true);
  });

  it('a valid resume needs no token, for a held seat and for a live one', async (t) => {
    const h = await harness(t, { tokenSecret: TOKEN_SECRET });
    const [a, b] = await h.pair({ token: await roomToken(ROOM) });
    await dropAndWait(a, b);
    const b2 = await h.seat(ROOM, { resume: b.joined.resume });
    assert.equal(b2.joined.peerId, b.joined.peerId);
    await a.client.next('peer-reconnected');

    const b3 = await h.seat(ROOM, { resume: b2.joined.resume });
    assert.equal(b3.joined.peerId, b.joined.peerId);
    await b2.client.nextError('session-replaced');
    await a.client.next('peer-reconnected');
  });
});

describe('what a resumer learns about the other seat', () => {
  it('if the other peer left meanwhile, joined.peers is [] and no peer-left is replayed', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    a.client.send({ type: 'leave' });
    await a.client.expectQuiet();

    const b2 = await h.connect();
    const joined = await b2.join(ROOM, { resume: b.joined.resume });
    assert.deepEqual(joined.peers, []);
    await b2.expectQuiet();
  });

  it('a resumer whose other seat is held gets peer-disconnected for it', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(b, a);
    b.client.drop();

    const b2 = await h.connect();
    b2.send({ type: 'join', room: ROOM, resume: b.joined.resume });
    const joined = await b2.next();
    assert.equal(joined.type, 'joined');
    assert.deepEqual(joined.peers, [a.joined.peerId]);
    const disconnected = await b2.next();
    assert.equal(disconnected.type, 'peer-disconnected');
    assert.equal(disconnected.peerId, a.joined.peerId);
    await b2.expectQuiet();

    // And when A takes its seat back, B hears of it.
    const a2 = await h.seat(ROOM, { resume: a.joined.resume });
    assert.deepEqual(a2.joined.peers, [b.joined.peerId]);
    assert.equal((await b2.next('peer-reconnected')).peerId, a.joined.peerId);
  });

  it('signals queued by a peer that has since dropped still arrive, with its peer-disconnected in either order', async (t) => {
    const h = await harness(t);
    const [a, b] = await h.pair();
    await dropAndWait(a, b);
    a.client.send({ type: 'signal', data: { seq: 0 } });
    a.client.send({ type: 'signal', data: { seq: 1 } });
    await a.client.expectQuiet();
    a.client.drop();

    const b2 = await h.connect();
    b2.send({ type: 'join', room: ROOM, resume: b.joined.resume });
    const joined = await b2.next();
    assert.equal(joined.type, 'joined');
    const after = [await b2.next(), await b2.next(), await b2.next()];
    const signals = after.filter((m) => m.type === 'signal');
    assert.deepEqual(signals.map((m) => (m.type === 'signal' ? [m.from, m.data['seq']] : [])), [
      [a.joined.peerId, 0],
      [a.joined.peerId, 1],
    ]);
    const notices = after.filter((m) => m.type === 'peer-disconnected');
    assert.deepEqual(notices.map((m) => (m.type === 'peer-disconnected' ? m.peerId : '')), [a.joined.peerId]);
    await b2.expectQuiet();
  });
});
