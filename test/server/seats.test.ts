/**
 * Seats and politeness (PROTOCOL.md "Seats and politeness", "Server → client", close code 1000):
 * who sits where, what the other seat hears, and that the two seated peers never share a
 * `polite` value however peers come and go.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { SignalingServerOptions } from '../../server/index.js';
import { harness as serverHarness, type Harness, type Seated } from './helpers.js';

/** Long enough that a held seat never expires by accident during a test. */
const LONG_GRACE_MS = 5_000;
/** Short enough that waiting for an expiry keeps the test quick. */
const SHORT_GRACE_MS = 150;
const ROOM = 'seats-room';

/** A server for one test (see helpers' `harness`) that holds seats LONG_GRACE_MS and seats in ROOM. */
const harness = (t: TestContext, options: SignalingServerOptions = {}): Promise<Harness> =>
  serverHarness(t, { reconnectGraceMs: LONG_GRACE_MS, ...options }, ROOM);

/** Seats a newcomer next to `stayer` and checks the newcomer got the opposite `polite`. */
async function joinNextTo(h: Harness, stayer: Seated): Promise<Seated> {
  const newcomer = await h.seat();
  assert.deepEqual(newcomer.joined.peers, [stayer.joined.peerId]);
  assert.equal(newcomer.joined.polite, !stayer.joined.polite, 'newcomer polite must be the opposite of the seated peer');
  assert.equal((await stayer.client.next('peer-joined')).peerId, newcomer.joined.peerId);
  return newcomer;
}

/** Resumes `dropped`'s seat from a new socket and checks peerId and polite are kept. */
async function resumeSeat(h: Harness, dropped: Seated, other: Seated): Promise<Seated> {
  const client = await h.connect();
  const joined = await client.join(dropped.joined.room, { resume: dropped.joined.resume });
  assert.equal(joined.peerId, dropped.joined.peerId);
  assert.equal(joined.polite, dropped.joined.polite, 'taking a seat back keeps its polite value');
  assert.equal((await other.client.next('peer-reconnected')).peerId, dropped.joined.peerId);
  return { client, joined };
}

describe('join takes a seat', () => {
  it('the first joiner gets joined with the room, a string peerId, no peers and polite true', async (t) => {
    const h = await harness(t);
    const { joined } = await h.seat();
    assert.equal(joined.type, 'joined');
    assert.equal(joined.room, ROOM);
    assert.equal(typeof joined.peerId, 'string');
    assert.ok(joined.peerId.length > 0, 'peerId must not be empty');
    assert.deepEqual(joined.peers, []);
    assert.equal(joined.polite, true);
    assert.ok(Array.isArray(joined.iceServers));
    assert.equal(typeof joined.resume, 'string');
    assert.ok(joined.resume.length > 0, 'resume must not be empty');
    assert.equal(joined.graceMs, LONG_GRACE_MS);
  });

  it('the second joiner gets polite false and the first peerId; the first gets peer-joined', async (t) => {
    const h = await harness(t);
    const first = await h.seat();
    const second = await h.seat();
    assert.equal(second.joined.room, ROOM);
    assert.notEqual(second.joined.peerId, first.joined.peerId);
    assert.deepEqual(second.joined.peers, [first.joined.peerId]);
    assert.equal(second.joined.polite, false);
    assert.notEqual(second.joined.resume, first.joined.resume);
    const peerJoined = await first.client.next();
    assert.equal(peerJoined.type, 'peer-joined');
    assert.equal(peerJoined.peerId, second.joined.peerId);
    await first.client.expectQuiet();
    await second.client.expectQuiet();
  });
});

describe('politeness stays opposite however peers come and go', () => {
  it('after leaves and rejoins the newcomer always gets the opposite of the seated peer', async (t) => {
    const h = await harness(t);
    let a = await h.seat();
    let b = await joinNextTo(h, a);
    assert.equal(a.joined.polite, true);
    assert.equal(b.joined.polite, false);

    // The polite peer leaves: the newcomer sits next to an impolite one and must be polite.
    for (let round = 0; round < 6; round++) {
      const [leaver, stayer] = round % 2 === 0 ? [a, b] : [b, a];
      leaver.client.send({ type: 'leave' });
      const left = await stayer.client.next('peer-left');
      assert.deepEqual([left.peerId, left.reason], [leaver.joined.peerId, 'hangup']);
      const rejoined = await leaver.client.join(ROOM);
      assert.deepEqual(rejoined.peers, [stayer.joined.peerId]);
      assert.equal(rejoined.polite, !stayer.joined.polite, `round ${round}`);
      assert.equal((await stayer.client.next('peer-joined')).peerId, rejoined.peerId);
      if (round % 2 === 0) a = { client: a.client, joined: rejoined };
      else b = { client: b.client, joined: rejoined };
    }

    // Both leave, so the room is empty: the next joiner is polite again, whatever it had before.
    a.client.send({ type: 'leave' });
    await b.client.next('peer-left');
    b.client.send({ type: 'leave' });
    await b.client.expectQuiet();
    const fresh = await b.client.join(ROOM);
    assert.deepEqual(fresh.peers, []);
    assert.equal(fresh.polite, true);
    const other = await a.client.join(ROOM);
    assert.equal(other.polite, false);
  });

  it('after a drop whose grace ends, the newcomer gets the opposite of the peer that stayed', async (t) => {
    const h = await harness(t, { reconnectGraceMs: SHORT_GRACE_MS });
    let stayer = await h.seat();
    let dropper = await joinNextTo(h, stayer);
    // Round 0: the polite peer drops, so the stayer is impolite and the newcomer must be polite.
    [stayer, dropper] = [dropper, stayer];
    for (let round = 0; round < 4; round++) {
      dropper.client.drop();
      assert.equal((await stayer.client.next('peer-disconnected')).peerId, dropper.joined.peerId);
      const left = await stayer.client.next('peer-left');
      assert.deepEqual([left.peerId, left.reason], [dropper.joined.peerId, 'timeout']);
      const newcomer = await joinNextTo(h, stayer);
      // Next round the stayer drops and the newcomer stays.
      [stayer, dropper] = [newcomer, stayer];
    }
  });

  it('taking a seat back by resume keeps its value next to a newcomer', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await joinNextTo(h, a);
    a.client.send({ type: 'leave' });
    await b.client.next('peer-left');
    const c = await joinNextTo(h, b);
    assert.equal(c.joined.polite, true);

    b.client.drop();
    assert.equal((await c.client.next('peer-disconnected')).peerId, b.joined.peerId);
    const b2 = await resumeSeat(h, b, c);
    assert.equal(b2.joined.polite, false);

    c.client.drop();
    assert.equal((await b2.client.next('peer-disconnected')).peerId, c.joined.peerId);
    const c2 = await resumeSeat(h, c, b2);
    assert.equal(c2.joined.polite, true);
    assert.notEqual(b2.joined.polite, c2.joined.polite);
  });
});

describe('a socket holds at most one seat', () => {
  it('join while seated is refused with already-joined, and the seat is kept', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');

    a.client.send({ type: 'join', room: ROOM });
    const same = await a.client.nextError('already-joined');
    assert.equal(same.ref, 'join');
    a.client.send({ type: 'join', room: 'another-room' });
    const other = await a.client.nextError('already-joined');
    assert.equal(other.ref, 'join');
    assert.equal(h.server.stats().rooms, 1);
    await b.client.expectQuiet();

    a.client.send({ type: 'signal', data: { still: 'seated' } });
    const relayed = await b.client.next('signal');
    assert.equal(relayed.from, a.joined.peerId);
    assert.deepEqual(relayed.data, { still: 'seated' });
  });
});

describe('a room holds two', () => {
  it('a third joiner gets room-full without retryAfterMs when both seats are live; the seated notice nothing', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');

    const third = await h.connect();
    third.send({ type: 'join', room: ROOM });
    const error = await third.nextError('room-full');
    assert.equal(error.ref, 'join');
    assert.equal('retryAfterMs' in error, false, `no retryAfterMs expected: ${JSON.stringify(error)}`);
    await a.client.expectQuiet();
    await b.client.expectQuiet();
  });

  it('a third joiner gets room-full with retryAfterMs within the grace when a seat is held', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    b.client.drop();
    await a.client.next('peer-disconnected');

    const third = await h.connect();
    third.send({ type: 'join', room: ROOM });
    const error = await third.nextError('room-full');
    assert.equal(error.ref, 'join');
    assert.equal(typeof error.retryAfterMs, 'number');
    const retryAfterMs = error.retryAfterMs as number;
    assert.ok(retryAfterMs > 0 && retryAfterMs <= LONG_GRACE_MS, `retryAfterMs ${retryAfterMs} not in (0, ${LONG_GRACE_MS}]`);
    await a.client.expectQuiet();
  });

  it('the refused third socket stays open and can join another room', async (t) => {
    const h = await harness(t);
    await h.seat();
    await h.seat();
    const third = await h.connect();
    third.send({ type: 'join', room: ROOM });
    await third.nextError('room-full');
    await third.expectQuiet();
    const joined = await third.join('elsewhere');
    assert.equal(joined.room, 'elsewhere');
    assert.deepEqual(joined.peers, []);
    assert.equal(joined.polite, true);
    assert.equal(h.server.stats().rooms, 2);
  });

  it('a failed join uses up no resume and changes no seat', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    b.client.drop();
    assert.equal((await a.client.next('peer-disconnected')).peerId, b.joined.peerId);

    // B's resume value sent for another room: refused, and it must stay usable.
    const stranger = await h.connect();
    stranger.send({ type: 'join', room: 'not-the-room', resume: b.joined.resume });
    assert.equal((await stranger.nextError('invalid-resume')).ref, 'join');
    // A socket that is seated elsewhere sends B's resume value: already-joined, nothing used up.
    const seatedElsewhere = await h.seat('elsewhere');
    seatedElsewhere.client.send({ type: 'join', room: ROOM, resume: b.joined.resume });
    await seatedElsewhere.client.nextError('already-joined');
    // A plain join into the room with the held seat: room-full, no seat taken.
    stranger.send({ type: 'join', room: ROOM });
    await stranger.nextError('room-full');
    assert.equal(h.server.stats().rooms, 2, 'the failed joins created no room');
    await a.client.expectQuiet();

    // The seat is still B's, and B's value still takes it back.
    const b2 = await h.connect();
    const back = await b2.join(ROOM, { resume: b.joined.resume });
    assert.equal(back.peerId, b.joined.peerId);
    assert.equal(back.polite, b.joined.polite);
    assert.deepEqual(back.peers, [a.joined.peerId]);
    assert.equal((await a.client.next('peer-reconnected')).peerId, b.joined.peerId);
    // And the refused stranger is not seated anywhere.
    stranger.send({ type: 'signal', data: {} });
    await stranger.nextError('not-in-room');
  });
});

describe('leave frees the seat at once', () => {
  it('the other peer gets peer-left hangup; the leaver stays open and can join again', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');

    b.client.send({ type: 'leave' });
    const left = await a.client.next();
    assert.equal(left.type, 'peer-left');
    assert.equal(left.peerId, b.joined.peerId);
    assert.equal(left.reason, 'hangup');
    await a.client.expectQuiet();

    await b.client.expectQuiet();
    const again = await b.client.join(ROOM);
    assert.deepEqual(again.peers, [a.joined.peerId]);
    assert.equal(again.polite, false);
    assert.equal((await a.client.next('peer-joined')).peerId, again.peerId);
  });

  it('closing after leave gives the other peer one peer-left hangup and no peer-disconnected', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    b.client.send({ type: 'leave' });
    b.client.close(1000);
    await b.client.closed;
    const left = await a.client.next();
    assert.equal(left.type, 'peer-left');
    assert.equal(left.reason, 'hangup');
    await a.client.expectQuiet();
  });

  it('leave before join is refused with not-in-room', async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    client.send({ type: 'leave' });
    const error = await client.nextError('not-in-room');
    assert.equal(error.ref, 'leave');
    const joined = await client.join(ROOM);
    assert.equal(joined.polite, true);
  });
});

describe('a room with no seats, live or held, is forgotten', () => {
  it('the room count goes back to 0 after the last leave', async (t) => {
    const h = await harness(t);
    assert.equal(h.server.stats().rooms, 0);
    const a = await h.seat();
    assert.equal(h.server.stats().rooms, 1);
    const b = await h.seat();
    assert.equal(h.server.stats().rooms, 1);
    a.client.send({ type: 'leave' });
    await b.client.next('peer-left');
    assert.equal(h.server.stats().rooms, 1);
    b.client.send({ type: 'leave' });
    await b.client.expectQuiet();
    assert.equal(h.server.stats().rooms, 0);
  });

  it('a held seat keeps the room until its grace ends', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 500 });
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    b.client.drop();
    await a.client.next('peer-disconnected');
    a.client.send({ type: 'leave' });
    await a.client.expectQuiet();
    assert.equal(h.server.stats().rooms, 1, 'B\'s held seat keeps the room');

    // An observer takes the free seat and sees B's seat expire.
    const observer = await h.seat();
    assert.deepEqual(observer.joined.peers, [b.joined.peerId]);
    assert.equal((await observer.client.next('peer-disconnected')).peerId, b.joined.peerId);
    const left = await observer.client.next('peer-left');
    assert.deepEqual([left.peerId, left.reason], [b.joined.peerId, 'timeout']);
    observer.client.send({ type: 'leave' });
    await observer.client.expectQuiet();
    assert.equal(h.server.stats().rooms, 0);
  });
});

describe('drops and the grace period', () => {
  it('the other peer gets peer-disconnected when a peer drops, and nothing else before the grace ends', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    b.client.drop();
    const disconnected = await a.client.next();
    assert.equal(disconnected.type, 'peer-disconnected');
    assert.equal(disconnected.peerId, b.joined.peerId);
    await a.client.expectQuiet();
  });

  it('when the grace ends the other peer gets peer-left timeout', async (t) => {
    const graceMs = 300;
    const h = await harness(t, { reconnectGraceMs: graceMs });
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    // From before the drop: the server's grace timer starts after it, whatever the delivery delays.
    const heldSince = Date.now();
    b.client.drop();
    await a.client.next('peer-disconnected');
    const left = await a.client.next('peer-left', graceMs + 3_000);
    const heldFor = Date.now() - heldSince;
    assert.equal(left.peerId, b.joined.peerId);
    assert.equal(left.reason, 'timeout');
    assert.ok(heldFor >= graceMs - 50, `seat held only ${heldFor} ms of ${graceMs}`);
    // The seat is free now: a newcomer sits next to A.
    const c = await h.seat();
    assert.deepEqual(c.joined.peers, [a.joined.peerId]);
  });

  it('a joiner next to a held seat gets peer-disconnected right after joined', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    a.client.drop();
    await b.client.next('peer-disconnected');
    b.client.send({ type: 'leave' });
    await b.client.expectQuiet();

    const c = await h.connect();
    c.send({ type: 'join', room: ROOM });
    const joined = await c.next();
    assert.equal(joined.type, 'joined');
    assert.deepEqual(joined.peers, [a.joined.peerId]);
    assert.equal(joined.polite, !a.joined.polite);
    const disconnected = await c.next();
    assert.equal(disconnected.type, 'peer-disconnected');
    assert.equal(disconnected.peerId, a.joined.peerId);
    await c.expectQuiet();
  });

  it('a close with code 1000 without leave holds the seat like a drop', async (t) => {
    const h = await harness(t);
    const a = await h.seat();
    const b = await h.seat();
    await a.client.next('peer-joined');
    b.client.close(1000);
    assert.equal((await b.client.closed).code, 1000);
    const disconnected = await a.client.next();
    assert.equal(disconnected.type, 'peer-disconnected');
    assert.equal(disconnected.peerId, b.joined.peerId);
    await a.client.expectQuiet();

    const b2 = await h.connect();
    const back = await b2.join(ROOM, { resume: b.joined.resume });
    assert.equal(back.peerId, b.joined.peerId);
    assert.equal((await a.client.next('peer-reconnected')).peerId, b.joined.peerId);
  });
});
