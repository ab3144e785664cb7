/**
 * What coturn does when a TURN REST credential expires while an allocation made with it is
 * still in use, at the protocol level (a small TURN client over UDP, no browser): the timestamp
 * in the username is checked when a new allocation authenticates; afterwards coturn checks
 * requests against the key it cached for that allocation, so Refresh, CreatePermission and
 * ChannelBind with the expired username keep succeeding — even after coturn rotates the nonce
 * (`--stale-nonce`) — and the relay keeps forwarding. See docs/turn.md.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startCoturn, type Coturn } from './coturn.js';
import { Attr, TurnSession, attr, errorCode, readXorAddress, restCredential, type Address, type StunMessage } from './stun.js';

const SECRET = 'coturn-lifetime-secret-0123456789';
/** Long enough to allocate and set up permissions on a slow machine, short enough to wait out. */
const CREDENTIAL_TTL_S = 5;
const STALE_NONCE_S = 2;

let turn: Coturn;
let peer: Socket;
let peerAddress: Address;
const peerPackets: Array<{ data: Buffer; from: Address }> = [];
let peerWaiter: (() => void) | undefined;

before(async () => {
  turn = await startCoturn({ secret: SECRET, extraArgs: ['-v', `--stale-nonce=${STALE_NONCE_S}`] });
  peer = createSocket('udp4');
  peer.on('message', (data, rinfo) => {
    peerPackets.push({ data, from: { address: rinfo.address, port: rinfo.port } });
    peerWaiter?.();
  });
  await new Promise<void>((done) => peer.bind(0, '127.0.0.1', done));
  peerAddress = { address: '127.0.0.1', port: (peer.address() as AddressInfo).port };
});

after(async () => {
  if (peer) await new Promise<void>((done) => peer.close(() => done()));
  await turn?.stop();
});

/** The next datagram the peer receives, within `timeoutMs`. */
function nextPeerPacket(timeoutMs = 3000): Promise<{ data: Buffer; from: Address }> {
  const queued = peerPackets.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the peer received nothing within ${timeoutMs} ms`)), timeoutMs);
    peerWaiter = () => {
      clearTimeout(timer);
      peerWaiter = undefined;
      resolve(peerPackets.shift() as { data: Buffer; from: Address });
    };
  });
}

const describeAnswer = (m: StunMessage) => (m.cls === 'success' ? 'success' : `error ${errorCode(m)}`);

/** Probes with fresh allocations until coturn refuses the credential (401), bounded in count. */
async function waitUntilRefused(username: string, credential: string): Promise<number> {
  const server = { address: turn.host, port: turn.port };
  for (let probe = 1; probe <= 60; probe++) {
    const session = await TurnSession.open(server, username, credential);
    try {
      const answer = await session.allocate();
      if (answer.cls === 'error') {
        assert.equal(errorCode(answer), 401, `a fresh allocation is refused with 401, got ${describeAnswer(answer)}`);
        return probe;
      }
      await session.refresh(0);
    } finally {
      await session.close();
    }
    // coturn answers at once; the wait is for its clock to pass the expiry in the username.
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('coturn still accepted the credential 60 probes later');
}

describe('coturn and a TURN REST credential that expires during an allocation', () => {
  test('Refresh, CreatePermission, ChannelBind and relaying keep working; new allocations are refused', async () => {
    const { username, credential } = restCredential(SECRET, Math.floor(Date.now() / 1000) + CREDENTIAL_TTL_S, 'lifetime');
    const session = await TurnSession.open({ address: turn.host, port: turn.port }, username, credential);
    try {
      const allocated = await session.allocate();
      assert.equal(describeAnswer(allocated), 'success', 'Allocate with a valid credential');
      const relayed = readXorAddress(attr(allocated, Attr.xorRelayedAddress), allocated.transactionId);
      assert.ok(relayed, 'a relayed address');
      assert.equal(describeAnswer(await session.createPermission(peerAddress)), 'success');
      assert.equal(describeAnswer(await session.channelBind(0x4000, peerAddress)), 'success');

      await waitUntilRefused(username, credential);
      // coturn logs why (the line may reach us just after its answer does).
      await turn.waitForLog(new RegExp(`Cannot find credentials of user <${username}>`), { timeoutMs: 3000 });

      // The same allocation, the same (now expired) username: all accepted.
      const refreshed = await session.refresh(600);
      assert.equal(describeAnswer(refreshed), 'success', 'Refresh after expiry');
      assert.equal(attr(refreshed, Attr.lifetime)?.readUInt32BE(0), 600, 'the allocation got a new 600 s lifetime');
      assert.ok(session.staleNonces >= 1, `coturn rotated the nonce meanwhile (--stale-nonce=${STALE_NONCE_S}), and the retry with the new one passed`);
      assert.equal(describeAnswer(await session.createPermission(peerAddress)), 'success', 'CreatePermission after expiry');
      assert.equal(describeAnswer(await session.channelBind(0x4000, peerAddress)), 'success', 'ChannelBind after expiry');

      // And the relay still forwards both ways.
      session.sendData(peerAddress, Buffer.from('to the peer'));
      const atPeer = await nextPeerPacket();
      assert.equal(atPeer.data.toString(), 'to the peer');
      assert.deepEqual(atPeer.from, relayed, 'sent from the relayed address');
      peer.send(Buffer.from('to the client'), relayed.port, relayed.address);
      const back = await session.client.nextRelayed();
      assert.deepEqual({ channel: back.channel, data: back.data.toString() }, { channel: 0x4000, data: 'to the client' }, 'over the bound channel');

      assert.doesNotMatch(turn.log(), new RegExp(`user <${username}>: incoming packet (REFRESH|CREATE_PERMISSION|CHANNEL_BIND) processed, error`));
    } finally {
      await session.refresh(0).catch(() => undefined);
      await session.close();
    }
  });
});
