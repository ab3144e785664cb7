/**
 * Auth and TURN (PROTOCOL.md "Auth and TURN"): join tokens are HS256 JWTs with a `room` claim,
 * a required `exp` and an optional `nbf`, each with 30 s of leeway; TURN credentials follow
 * the TURN REST convention (coturn `use-auth-secret`).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT, type JWTPayload } from 'jose';
import type { JoinedMessage } from '../../sdk/protocol.js';
import { mintTurnCredentials } from '../../server/index.js';
import { harness } from './helpers.js';

const ROOM = 'auth-room';
const TOKEN_SECRET = 'auth-test-token-secret-0123456789';
const OTHER_SECRET = 'some-other-secret-9876543210';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function sign(claims: JWTPayload, { alg = 'HS256', secret = TOKEN_SECRET } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

const validToken = (room = ROOM): Promise<string> => sign({ room, exp: nowSeconds() + 600 });

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('join tokens that are accepted', () => {
  const accepted: Array<[string, () => Promise<string>]> = [
    ['a valid HS256 token for the room', () => validToken()],
    ['a token for room "*"', () => sign({ room: '*', exp: nowSeconds() + 600 })],
    ['a token whose exp passed within the 30 s leeway', () => sign({ room: ROOM, exp: nowSeconds() - 10 })],
    ['a token whose nbf is in the past', () => sign({ room: ROOM, exp: nowSeconds() + 600, nbf: nowSeconds() - 60 })],
    ['a token whose nbf is ahead within the 30 s leeway', () => sign({ room: ROOM, exp: nowSeconds() + 600, nbf: nowSeconds() + 10 })],
  ];
  for (const [name, make] of accepted) {
    it(`${name} takes a seat`, async (t) => {
      const h = await harness(t, { tokenSecret: TOKEN_SECRET });
      const client = await h.connect();
      const joined = await client.join(ROOM, { token: await make() });
      assert.equal(joined.room, ROOM);
      assert.equal(joined.polite, true);
    });
  }
});

describe('join tokens that are refused with unauthorized and no seat', () => {
  const refused: Array<[string, () => Promise<string | undefined>]> = [
    ['a missing token', async () => undefined],
    ['an expired token (exp beyond the 30 s leeway)', () => sign({ room: ROOM, exp: nowSeconds() - 60 })],
    ['a token without exp', () => sign({ room: ROOM })],
    ['a token whose nbf is beyond the 30 s leeway', () => sign({ room: ROOM, exp: nowSeconds() + 600, nbf: nowSeconds() + 60 })],
    ['a token signed with another secret', () => sign({ room: ROOM, exp: nowSeconds() + 600 }, { secret: OTHER_SECRET })],
    ['a token for another room', () => validToken('another-room')],
    ['a token without a room claim', () => sign({ exp: nowSeconds() + 600 })],
    ['a token whose room claim is not a string', () => sign({ room: [ROOM], exp: nowSeconds() + 600 })],
    ['a token signed with HS512', () => sign({ room: ROOM, exp: nowSeconds() + 600 }, { alg: 'HS512' })],
    ['an unsigned token (alg none)', async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ room: ROOM, exp: nowSeconds() + 600 })}.`],
    ['a value that is not a JWT', async () => 'definitely-not-a-jwt'],
    ['an empty token', async () => ''],
  ];
  for (const [name, make] of refused) {
    it(`${name}`, async (t) => {
      const h = await harness(t, { tokenSecret: TOKEN_SECRET });
      const refusedClient = await h.connect();
      const token = await make();
      refusedClient.send({ type: 'join', room: ROOM, ...(token === undefined ? {} : { token }) });
      const error = await refusedClient.nextError('unauthorized');
      assert.equal(error.ref, 'join');
      assert.equal(h.server.stats().rooms, 0);

      // No seat was taken: the next joiner is alone in the room.
      const other = await h.connect();
      const joined = await other.join(ROOM, { token: await validToken() });
      assert.deepEqual(joined.peers, []);
      assert.equal(joined.polite, true);

      // The refused socket stays open and may try again with a good token.
      const retry = await refusedClient.join(ROOM, { token: await validToken() });
      assert.deepEqual(retry.peers, [joined.peerId]);
    });
  }
});

describe('joined.iceServers', () => {
  it('is empty by default', async (t) => {
    const h = await harness(t);
    const client = await h.connect();
    const joined = await client.join(ROOM);
    assert.deepEqual(joined.iceServers, []);
  });

  it('carries the configured STUN URLs alone when there is no TURN', async (t) => {
    const stunUrls = ['stun:stun.example.com:3478', 'stun:stun2.example.com:19302'];
    const h = await harness(t, { stunUrls });
    const client = await h.connect();
    const joined = await client.join(ROOM);
    assert.equal(joined.iceServers.length, 1);
    assert.deepEqual(joined.iceServers[0]?.urls, stunUrls);
    assert.equal(joined.iceServers[0]?.username, undefined);
    assert.equal(joined.iceServers[0]?.credential, undefined);
  });

  it('carries STUN, then TURN with username "<expiry>:<peerId>" and credential base64(HMAC-SHA1(secret, username))', async (t) => {
    const stunUrls = ['stun:stun.example.com:3478'];
    const turnUrls = ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'];
    const turnSecret = 'coturn-static-auth-secret-123';
    const turnTtl = 600;
    const h = await harness(t, { stunUrls, turnUrls, turnSecret, turnTtl });
    const client = await h.connect();
    const joinedAt = Date.now();
    const joined = await client.join(ROOM);

    assert.equal(joined.iceServers.length, 2);
    assert.deepEqual(joined.iceServers[0]?.urls, stunUrls);
    const turn = joined.iceServers[1];
    assert.ok(turn !== undefined);
    assert.deepEqual(turn.urls, turnUrls);
    checkTurnEntry(turn, joined, turnSecret, turnTtl, joinedAt);

    // Every joined mints credentials for its own peerId.
    const second = await h.connect();
    const joined2 = await second.join(ROOM);
    const turn2 = joined2.iceServers[1];
    assert.ok(turn2 !== undefined);
    checkTurnEntry(turn2, joined2, turnSecret, turnTtl, joinedAt);
  });
});

function checkTurnEntry(turn: JoinedMessage['iceServers'][number], joined: JoinedMessage, secret: string, ttl: number, joinedAt: number): void {
  assert.equal(typeof turn.username, 'string');
  const username = turn.username as string;
  const colon = username.indexOf(':');
  assert.ok(colon > 0, `username "${username}" must be "<expiry>:<peerId>"`);
  const expiry = username.slice(0, colon);
  assert.match(expiry, /^\d+$/);
  assert.equal(username.slice(colon + 1), joined.peerId);
  const expected = joinedAt / 1000 + ttl;
  assert.ok(Math.abs(Number(expiry) - expected) <= 5, `expiry ${expiry} is not within 5 s of now + ttl (${expected})`);
  assert.equal(turn.credential, createHmac('sha1', secret).update(username).digest('base64'));
}

describe('mintTurnCredentials', () => {
  it('mints the TURN REST username and credential for a fixed time', () => {
    // Expected credential computed independently:
    // printf '%s' '1700003600:peer-fixed' | openssl dgst -sha1 -hmac 'turn-secret-for-tests' -binary | base64
    const minted = mintTurnCredentials('turn-secret-for-tests', ['turn:turn.example.com:3478'], 'peer-fixed', 3_600, 1_700_000_000_999);
    assert.deepEqual(minted, {
      urls: ['turn:turn.example.com:3478'],
      username: '1700003600:peer-fixed',
      credential: '78DyZUftuIe1kxomwscQMk5dU/A=',
    });
  });
});
