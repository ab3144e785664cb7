import { expect } from '@open-wc/testing';
import {
  cleanUp, connectedPair, framesDecoded, iceUfrag, nextEvent, peerConnection, recordSignaling,
  serverCommand, startServer, stateReached, until,
} from './call-helpers.js';

afterEach(cleanUp);

describe('Call recovery', () => {
  it('keeps media flowing while the signaling socket is cut, resumes its seat, and renegotiates after', async () => {
    const server = await startServer({ reconnectGraceMs: 10_000 });
    const { a, b } = await connectedPair(server, { signaling: { reconnect: { initialDelayMs: 50 } } });
    const [peerA, peerB] = [a.peerId, b.peerId];
    const seenA = recordSignaling(a);
    const callStates: string[] = [];
    a.on('state', ({ state }) => callStates.push(state));
    b.on('state', ({ state }) => callStates.push(state));
    const cut = await serverCommand<number>('signaling-cut', server);
    expect(cut).to.be.greaterThan(1);
    // Media is peer-to-peer: frames keep coming while signaling is down or resuming.
    await framesDecoded(b.remoteStream!);
    await until(() => seenA.includes('reconnecting') && a.signalingState === 'joined' && b.signalingState === 'joined', 'both resume');
    expect(a.peerId).to.equal(peerA);
    expect(b.peerId).to.equal(peerB);
    expect(callStates, 'a signaling blip while media flows is no state change (EMBED.md)').to.deep.equal([]);

    const before = iceUfrag(peerConnection(b).currentRemoteDescription);
    a.restartIce();
    await until(() => {
      const now = iceUfrag(peerConnection(b).currentRemoteDescription);
      return now !== undefined && now !== before && peerConnection(a).signalingState === 'stable';
    }, 'the ICE restart offer/answer went through the resumed signaling');
    await stateReached(a, 'connected');
    await framesDecoded(a.remoteStream!);
  });

  it('comes back after the signaling server restarts: new seats, same media, working signaling', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server, { signaling: { reconnect: { initialDelayMs: 50 } } });
    const oldPeerA = a.peerId;
    const pcA = peerConnection(a);
    await serverCommand('signaling-restart', server);
    await until(() => a.signalingState === 'joined' && b.signalingState === 'joined' && a.peerId !== oldPeerA, 'both rejoin the new server');
    // The running connection was recognised by its session id and kept.
    expect(peerConnection(a)).to.equal(pcA);
    await stateReached(a, 'connected');
    await stateReached(b, 'connected');
    const message = nextEvent(b, 'message');
    a.sendMessage('still here');
    expect((await message).text).to.equal('still here');

    const before = iceUfrag(peerConnection(a).currentRemoteDescription);
    b.restartIce();
    await until(() => {
      const now = iceUfrag(peerConnection(a).currentRemoteDescription);
      return now !== undefined && now !== before;
    }, 'signaling works again after the restart');
    await framesDecoded(b.remoteStream!);
  });

  it('comes back after a graceful server restart (server-shutdown, close 1001): no error, same connection', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server, { signaling: { reconnect: { initialDelayMs: 50 } } });
    const pcA = peerConnection(a);
    const errors: string[] = [];
    for (const call of [a, b]) call.on('error', (e) => errors.push(`${e.code}${e.fatal ? ' (fatal)' : ''}`));
    const oldPeerA = a.peerId;
    await serverCommand('signaling-restart', server, { graceful: true });
    await until(() => a.signalingState === 'joined' && b.signalingState === 'joined' && a.peerId !== oldPeerA, 'both rejoin the restarted server');
    expect(peerConnection(a), 'the running connection is kept').to.equal(pcA);
    await stateReached(a, 'connected');
    await stateReached(b, 'connected');
    const message = nextEvent(b, 'message');
    a.sendMessage('after the restart');
    expect((await message).text).to.equal('after the restart');
    expect(errors, 'a planned restart is not an error').to.deep.equal([]);
  });

  it('returns to connected after a forced ICE restart', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const before = iceUfrag(peerConnection(a).localDescription);
    a.restartIce();
    await until(() => iceUfrag(peerConnection(a).localDescription) !== before && peerConnection(a).signalingState === 'stable', 'restart negotiated');
    await stateReached(a, 'connected');
    await stateReached(b, 'connected');
    await framesDecoded(b.remoteStream!);
  });

  it('setIceServers() mid-call: the running connection uses the new list from its next ICE restart, and the call survives it', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const extra = { urls: 'stun:127.0.0.1:9' };
    a.setIceServers([extra]);
    const urls = peerConnection(a).getConfiguration().iceServers?.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
    expect(urls).to.include('stun:127.0.0.1:9');
    const before = iceUfrag(peerConnection(b).currentRemoteDescription);
    a.restartIce();
    await until(() => {
      const now = iceUfrag(peerConnection(b).currentRemoteDescription);
      return now !== undefined && now !== before && peerConnection(a).signalingState === 'stable';
    }, 'the ICE restart went through');
    await stateReached(a, 'connected');
    await framesDecoded(a.remoteStream!);
  });
});
