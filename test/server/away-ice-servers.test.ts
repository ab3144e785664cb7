/**
 * The two v1 additions of rev 5 (docs/protocol.md): `away` (the page is going away without
 * hanging up: the seat is held only for the short away grace) and the `ice-servers`
 * request/response (fresh TURN credentials over the open socket).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseClientMessage, parseServerMessage } from '../../sdk/protocol.js';
import { harness } from './helpers.js';

const ROOM = 'away-room';

describe('away', () => {
  it('parses, with extra fields ignored', () => {
    assert.deepEqual(parseClientMessage({ type: 'away', why: 'pagehide' }), { ok: true, message: { type: 'away' } });
    assert.deepEqual(parseClientMessage({ type: 'ice-servers', x: 1 }), { ok: true, message: { type: 'ice-servers' } });
  });

  it('the other peer gets peer-disconnected at once and peer-left timeout after the away grace, not the full grace', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 10_000, awayGraceMs: 600 }, ROOM);
    const [a, b] = await h.pair();
    const sent = Date.now();
    b.client.send({ type: 'away' });
    assert.equal((await a.client.next('peer-disconnected')).peerId, b.joined.peerId);
    const left = await a.client.next('peer-left', 5_000);
    const took = Date.now() - sent;
    assert.deepEqual(left, { type: 'peer-left', peerId: b.joined.peerId, reason: 'timeout' });
    assert.ok(took >= 550 && took < 3_000, `peer-left after ${took} ms (away grace 600, full grace 10000)`);
    // The socket stays open and unseated: it may join again.
    b.client.send({ type: 'signal', data: {} });
    await b.client.nextError('not-in-room');
  });

  it('a resume within the away grace takes the seat back: peer-reconnected, no peer-left', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 10_000, awayGraceMs: 1_500 }, ROOM);
    const [a, b] = await h.pair();
    b.client.send({ type: 'away' });
    await a.client.next('peer-disconnected');
    b.client.close();
    const b2 = await h.connect();
    const joined = await b2.join(ROOM, { resume: b.joined.resume });
    assert.equal(joined.peerId, b.joined.peerId);
    assert.equal((await a.client.next('peer-reconnected')).peerId, b.joined.peerId);
    // Past the away grace: still seated, nothing more for a.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await a.client.expectQuiet();
  });

  it('the away grace is capped by the reconnect grace', async (t) => {
    const h = await harness(t, { reconnectGraceMs: 300, awayGraceMs: 60_000 }, ROOM);
    const [a, b] = await h.pair();
    b.client.send({ type: 'away' });
    await a.client.next('peer-disconnected');
    assert.equal((await a.client.next('peer-left', 3_000)).reason, 'timeout');
  });

  it('before join: error not-in-room with ref away', async (t) => {
    const h = await harness(t, {}, ROOM);
    const client = await h.connect();
    client.send({ type: 'away' });
    assert.equal((await client.nextError('not-in-room')).ref, 'away');
  });
});

describe('ice-servers request', () => {
  it('answers with freshly minted credentials for the seat, as in joined', async (t) => {
    const turnSecret = 'coturn-static-auth-secret-123';
    const stunUrls = ['stun:stun.example.com:3478'];
    const turnUrls = ['turn:turn.example.com:3478'];
    const h = await harness(t, { stunUrls, turnUrls, turnSecret, turnTtl: 600 }, ROOM);
    const { client, joined } = await h.seat();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // so the expiry moves on by a second
    client.send({ type: 'ice-servers' });
    const answer = await client.next('ice-servers');
    assert.deepEqual(parseServerMessage(answer), { ok: true, message: answer });
    assert.equal(answer.iceServers.length, 2);
    assert.deepEqual(answer.iceServers[0], { urls: stunUrls });
    const turn = answer.iceServers[1];
    assert.ok(turn?.username !== undefined && turn.credential !== undefined);
    const [expiry, peerId] = turn.username.split(':');
    assert.equal(peerId, joined.peerId);
    const before = Number(joined.iceServers[1]?.username?.split(':')[0]);
    assert.ok(Number(expiry) > before, `renewed expiry ${expiry} after ${before}`);
    assert.equal(turn.credential, createHmac('sha1', turnSecret).update(turn.username).digest('base64'));
  });

  it('before join: error not-in-room with ref ice-servers; without TURN: an empty list', async (t) => {
    const h = await harness(t, {}, ROOM);
    const client = await h.connect();
    client.send({ type: 'ice-servers' });
    assert.equal((await client.nextError('not-in-room')).ref, 'ice-servers');
    await client.join(ROOM);
    client.send({ type: 'ice-servers' });
    assert.deepEqual(await client.next('ice-servers'), { type: 'ice-servers', iceServers: [] });
  });

  it('a malformed ice-servers answer is refused by the SDK validator', () => {
    assert.equal(parseServerMessage({ type: 'ice-servers' }).ok, false);
    assert.equal(parseServerMessage({ type: 'ice-servers', iceServers: [{ urls: 3 }] }).ok, false);
  });
});
