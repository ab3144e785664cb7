import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import { Call, CallError, type SignalingClient } from '../../sdk/index.js';
import { cleanUp, makeCall, nextEvent, startServer, stateReached, uniqueRoom, until, type TestServer } from './call-helpers.js';

afterEach(cleanUp);

async function joinError(call: Call): Promise<CallError> {
  const error = await call.join().then(() => undefined, (e: unknown) => e);
  expect(error, 'join() rejects').to.be.instanceOf(CallError);
  expect(call.state).to.equal('error');
  return error as CallError;
}

const noMedia = { media: { audio: false, video: false } } as const;

describe('Call errors: each typed, none hangs', () => {
  it('unauthorized: the server requires a token and none is given', async () => {
    const server = await startServer({ tokenSecret: 'a-secret-of-at-least-16' });
    const error = await joinError(makeCall(server, uniqueRoom(), noMedia));
    expect(error.code).to.equal('unauthorized');
    expect(error.fatal).to.equal(true);
  });

  it('server-unreachable: nothing listens at the URL', async () => {
    const server = await startServer();
    await executeServerCommand('signaling-stop', { id: server.id });
    const error = await joinError(makeCall(server, uniqueRoom(), noMedia));
    expect(error.code).to.equal('server-unreachable');
  });

  it('unsupported-protocol: the server speaks only another version', async () => {
    const impostor = await executeServerCommand<TestServer, { kind: string }>('impostor-start', { kind: 'future' });
    const error = await joinError(makeCall(impostor, uniqueRoom(), noMedia));
    expect(error.code).to.equal('unsupported-protocol');
    await executeServerCommand('signaling-stop', { id: impostor.id });
  });

  it('timeout: the server accepts the socket but never seats us', async () => {
    const impostor = await executeServerCommand<TestServer, { kind: string }>('impostor-start', { kind: 'silent' });
    const error = await joinError(makeCall(impostor, uniqueRoom(), { ...noMedia, signaling: { connectTimeoutMs: 500 } }));
    expect(error.code).to.equal('timeout');
    await executeServerCommand('signaling-stop', { id: impostor.id });
  });

  it('server-busy: the server has no room for another room', async () => {
    const server = await startServer({ maxRooms: 1 });
    await makeCall(server, uniqueRoom(), noMedia).join();
    const error = await joinError(makeCall(server, uniqueRoom(), noMedia));
    expect(error.code).to.equal('server-busy');
    expect(error.retryAfterMs).to.be.greaterThan(0);
  });

  it('ice-failed: relay-only without any TURN server never connects, and the call says so in time', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room, { iceTransportPolicy: 'relay', iceTimeoutMs: 1500 });
    const b = makeCall(server, room, { iceTransportPolicy: 'relay', iceTimeoutMs: 1500 });
    const isIceFailed = (e: CallError) => e.code === 'ice-failed';
    const failed = Promise.race([
      nextEvent(a, 'error', isIceFailed).then((error) => ({ error, call: a, other: b })),
      nextEvent(b, 'error', isIceFailed).then((error) => ({ error, call: b, other: a })),
    ]);
    await a.join();
    const tracks = a.localStream!.getTracks();
    await b.join();
    const { error, call, other } = await failed;
    expect(error.fatal).to.equal(true);
    expect(call.state).to.equal('error');
    expect(call.localStream).to.equal(undefined);
    if (call === a) expect(tracks.every((t) => t.readyState === 'ended'), 'devices released').to.equal(true);
    // The side that gave up told the other why: it fails the same way instead of waiting.
    await until(() => other.state === 'error', 'the other side is told there is no path');
  });

  it('media-unavailable: the camera cannot be opened, and the call goes on without it', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room, { media: { video: { deviceId: { exact: 'no-such-camera' } } } });
    const b = makeCall(server, room);
    const unavailable = nextEvent(a, 'error', (e) => e.code === 'media-unavailable');
    await a.join();
    expect((await unavailable).fatal).to.equal(false);
    expect(a.mediaState).to.deep.equal({ microphone: true, camera: false, screen: false });
    await b.join();
    await stateReached(a, 'connected');
  });

  it('session-replaced: the same seat is taken back elsewhere', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room, noMedia);
    await a.join();
    const resume = (a as unknown as { signaling: SignalingClient }).signaling.joined!.resume;
    const replaced = nextEvent(a, 'error', (e) => e.code === 'session-replaced');
    // Another tab takes the seat back with the resume value (a raw socket: in this document
    // the SDK itself refuses to reuse a resume value a live client holds).
    const seat = a.peerId;
    const other = new WebSocket(server.wsUrl, 'p2p-call.v1');
    const joined = new Promise<{ peerId: string }>((resolve) => {
      other.onmessage = ({ data }) => resolve(JSON.parse(data as string) as { peerId: string });
    });
    other.onopen = () => other.send(JSON.stringify({ type: 'join', room, resume }));
    expect((await joined).peerId).to.equal(seat);
    expect((await replaced).fatal).to.equal(true);
    expect(a.state).to.equal('error');
    other.close();
  });
});
