/**
 * Edge cases found in review: lost offers, leaves that overtake a join, dead sockets that never
 * open, races between toggles. Fault injection goes through the public `signaling.WebSocket` option only.
 */
import { expect } from '@open-wc/testing';
import { Call, CallError, SignalingClient } from '../../sdk/index.js';
import {
  cleanUp, connectedPair, makeCall, nextEvent, peerConnection, serverCommand, startServer, stateReached, uniqueRoom, until,
} from './call-helpers.js';

afterEach(cleanUp);

const noMedia = { media: { audio: false, video: false } } as const;

type Handler = ((event: never) => void) | null;

/** A WebSocket stand-in wrapping a real one; `filter` may delay or swallow incoming frames. */
class WrappedSocket {
  onopen: Handler = null;
  onmessage: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;
  readonly inner: WebSocket;
  constructor(
    url: string,
    protocols: string | string[],
    deliver: (socket: WrappedSocket, event: MessageEvent) => void,
    delayMs = 0,
    arrive?: (frame: string) => void,
  ) {
    this.inner = new WebSocket(url, protocols);
    const later = (fn: () => void) => (delayMs > 0 ? setTimeout(fn, delayMs) : fn());
    this.inner.onopen = (event) => (this.onopen as ((e: Event) => void) | null)?.(event);
    this.inner.onmessage = (event) => {
      arrive?.(String(event.data));
      later(() => deliver(this, event));
    };
    this.inner.onclose = (event) => later(() => (this.onclose as ((e: CloseEvent) => void) | null)?.(event));
    this.inner.onerror = (event) => (this.onerror as ((e: Event) => void) | null)?.(event);
  }
  get readyState(): number {
    return this.inner.readyState;
  }
  send(data: string): void {
    this.inner.send(data);
  }
  close(code?: number): void {
    this.inner.close(code);
  }
  dispatch(event: MessageEvent): void {
    (this.onmessage as ((e: MessageEvent) => void) | null)?.(event);
  }
}

/**
 * Every incoming frame (and the close) reaches the client `delayMs` late: a slow signaling
 * path. `arrived` sees each frame as it comes off the wire, before the delay.
 */
function slowSocket(delayMs: number, arrived?: (frame: string) => void): typeof WebSocket {
  return class extends WrappedSocket {
    constructor(url: string, protocols: string | string[]) {
      super(url, protocols, (socket, event) => socket.dispatch(event), delayMs, arrived);
    }
  } as unknown as typeof WebSocket;
}

describe('edge cases: SignalingClient', () => {
  it('hangup while the join frame is in flight frees the seat (no ghost seat held for the grace period)', async () => {
    const server = await startServer({ reconnectGraceMs: 15_000 });
    const room = uniqueRoom();
    let frameArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (frameArrived = resolve));
    const a = makeCall(server, room, { ...noMedia, signaling: { WebSocket: slowSocket(500, () => frameArrived()) } });
    const joining = a.join().catch(() => undefined);
    await arrived; // the server has seated us; `joined` is still on its way
    a.hangup();
    await joining;
    const b = makeCall(server, room, noMedia);
    const c = makeCall(server, room, noMedia);
    await b.join();
    const error = await c.join().then(() => undefined, (e: unknown) => e as CallError);
    expect(error?.code, 'the third call finds the room full of a ghost').to.equal(undefined);
  });

  it('a reconnect attempt whose socket never opens (blackholed SYN) is abandoned and retried', async () => {
    const server = await startServer();
    let made = 0;
    const Flaky = function (this: unknown, url: string, protocols: string) {
      made++;
      if (made === 1) return new WebSocket(url, protocols);
      // What a dropped SYN looks like from the page: CONNECTING forever, no open, no close.
      return { readyState: 0, send() {}, close() {}, onopen: null, onmessage: null, onclose: null, onerror: null };
    } as unknown as typeof WebSocket;
    const a = makeCall(server, uniqueRoom(), {
      ...noMedia,
      signaling: { WebSocket: Flaky, connectTimeoutMs: 1500, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } },
    });
    await a.join();
    await serverCommand('signaling-cut', server);
    await until(() => made >= 3, 'a second reconnect attempt after the first one hung', 8_000);
  });

  it('connect() called twice while connecting settles both promises', async () => {
    const server = await startServer();
    const client = new SignalingClient({ url: server.wsUrl, room: uniqueRoom(), storage: null });
    try {
      const first = client.connect();
      const second = client.connect();
      await second;
      const settled = await Promise.race([
        first.then(() => true, () => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000)),
      ]);
      expect(settled, 'the first connect() promise settles').to.equal(true);
    } finally {
      client.leave();
    }
  });
});

describe('edge cases: Call', () => {
  it('the impolite side re-offers when its first offer was lost with the polite side\'s socket', async () => {
    const server = await startServer({ reconnectGraceMs: 15_000 });
    const room = uniqueRoom();
    let lost = false;
    // The polite side's socket dies just as the server relays the impolite side's offer to it.
    const Lossy = class extends WrappedSocket {
      constructor(url: string, protocols: string | string[]) {
        super(url, protocols, (socket, event) => {
          const frame = String(event.data);
          if (!lost && frame.includes('"type":"offer"')) {
            lost = true;
            socket.inner.close(4000);
            return;
          }
          socket.dispatch(event);
        });
      }
    } as unknown as typeof WebSocket;
    const polite = makeCall(server, room, { iceTimeoutMs: 30_000, signaling: { WebSocket: Lossy, reconnect: { initialDelayMs: 50 } } });
    const impolite = makeCall(server, room, { iceTimeoutMs: 30_000, signaling: { reconnect: { initialDelayMs: 50 } } });
    await polite.join();
    await impolite.join();
    await until(() => lost && polite.signalingState === 'joined', 'the offer was lost and the polite side resumed its seat');
    await Promise.all([stateReached(polite, 'connected', 12_000), stateReached(impolite, 'connected', 12_000)]);
  });

  it('reports one peer-join and one peer-leave when a hangup on the data channel overtakes a signal', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room, { signaling: { WebSocket: slowSocket(300) } });
    const b = makeCall(server, room);
    const joins: string[] = [];
    const leaves: string[] = [];
    a.on('peer-join', ({ peerId }) => joins.push(peerId));
    a.on('peer-leave', ({ peerId }) => leaves.push(peerId));
    await a.join();
    await b.join();
    await Promise.all([stateReached(a, 'connected', 15_000), stateReached(b, 'connected', 15_000)]);
    const serverSaidLeft = new Promise<void>((resolve) => {
      (a as unknown as { signaling: SignalingClient }).signaling.on('peer-left', () => resolve());
    });
    b.restartIce(); // a signal (the restart offer) is on its way through the slow server path…
    await until(() => peerConnection(b).signalingState === 'have-local-offer', 'restart offer sent');
    b.hangup(); // …when the hangup goes out on the data channel
    await serverSaidLeft;
    await stateReached(a, 'waiting');
    expect(joins, 'peer-join once per arrival').to.have.length(1);
    expect(leaves, 'peer-leave exactly once per departure').to.have.length(1);
  });

  it('join() does not resolve for a join that hangup() aborted before a seat was taken', async () => {
    const server = await startServer();
    const a = makeCall(server, uniqueRoom(), noMedia);
    const joining = a.join();
    a.hangup();
    const outcome = await joining.then(() => 'resolved', (e: unknown) => (e instanceof CallError ? `rejected ${e.code}` : 'rejected'));
    expect(a.state).to.equal('ended');
    expect(outcome, 'join() resolves only once seated').to.not.equal('resolved');
  });

  it('setCamera(true) then setCamera(false) leaves the camera off (the last call wins)', async () => {
    const server = await startServer();
    const a = makeCall(server, uniqueRoom(), { media: { cameraOff: true } });
    await a.join();
    expect(a.mediaState.camera).to.equal(false);
    const on = a.setCamera(true);
    const off = a.setCamera(false);
    await Promise.all([on, off]);
    expect(a.localStream!.getVideoTracks().filter((t) => t.readyState === 'live'), 'no live camera track').to.have.length(0);
    expect(a.mediaState.camera).to.equal(false);
  });

  it('keeps a call whose media flows while the signaling server stays away (no fatal server-unreachable)', async () => {
    const server = await startServer();
    const { a } = await connectedPair(server, { signaling: { reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 3 } } });
    const fatal = nextEvent(a, 'error', (e) => e.fatal, 4_000).then((e) => e.code, () => undefined);
    await serverCommand('signaling-stop', server);
    expect(await fatal, 'no fatal error while media flows').to.equal(undefined);
    expect(a.state).to.equal('connected');
  });

  it('hangup while the signaling server is away goes straight to ended (no state on the way out)', async () => {
    const server = await startServer();
    const a = makeCall(server, uniqueRoom(), { ...noMedia, signaling: { reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 100 } } });
    await a.join();
    await serverCommand('signaling-stop', server);
    await stateReached(a, 'reconnecting');
    const states: string[] = [];
    a.on('state', ({ state }) => states.push(state));
    a.hangup();
    expect(states).to.deep.equal(['ended']);
  });

  it('delivers a chat message the sender accepted (4000 characters that JSON escapes)', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const received: string[] = [];
    b.on('message', ({ text }) => received.push(text));
    const long = '"'.repeat(4_000);
    a.sendMessage(long); // accepted: at the documented limit
    a.sendMessage('after');
    await until(() => received.includes('after'), 'the short message arrives');
    expect(received[0]?.length, 'the long message arrived first').to.equal(4_000);
  });

  it('an invalid room is not reported as a fatal invalid-message (EMBED: invalid-message is never fatal)', async () => {
    const server = await startServer();
    const a = new Call({ server: server.wsUrl, room: 'bad room!', media: { audio: false, video: false }, signaling: { storage: null } });
    const error = await a.join().then(() => undefined, (e: unknown) => e as CallError);
    expect(error).to.be.instanceOf(CallError);
    expect(error!.code === 'invalid-message' && error!.fatal, `${error!.code} fatal=${error!.fatal}`).to.equal(false);
  });
});
