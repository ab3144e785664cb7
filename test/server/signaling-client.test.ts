/**
 * The SDK's SignalingClient from Node (with `ws` as its WebSocket) against the real server:
 * queueing while reconnecting, in-order flush after resume, resume across a "reload" through
 * storage, dead-socket detection by ping timeout, and bounded reconnect attempts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { CallError, SignalingClient, type ResumeStorage, type SignalingClientOptions, type SignalingEvents } from '../../sdk/index.js';
import { serverFor, startServer, TestClient } from './helpers.js';

function memoryStorage(): ResumeStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

function client(t: TestContext, options: Omit<SignalingClientOptions, 'WebSocket'>): SignalingClient {
  const c = new SignalingClient({ storage: null, ...options, WebSocket });
  t.after(() => c.close());
  return c;
}

function nextEvent<T>(c: SignalingClient, name: keyof SignalingEvents, predicate: (p: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${name}`)), timeoutMs);
    const off = c.on(name, (payload: unknown) => {
      if (!predicate(payload as T)) return;
      clearTimeout(timer);
      off();
      resolve(payload as T);
    });
  });
}

/**
 * A stand-in server speaking just enough p2p-call.v1 for a test: `onConnection` scripts each
 * socket. Listens on `port` (0: any); resolves with its ws:// URL; closed when the test ends.
 */
async function fakeServer(t: TestContext, onConnection: (socket: WebSocket) => void, port = 0): Promise<string> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, handleProtocols: () => 'p2p-call.v1' });
  wss.on('connection', onConnection);
  await new Promise<void>((done) => http.listen(port, '127.0.0.1', done));
  t.after(() => {
    for (const s of wss.clients) s.terminate();
    http.close();
  });
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`;
}

/** The `joined` a fake server seats every client with. */
const FAKE_JOINED = JSON.stringify({ type: 'joined', room: 'r', peerId: 'p', peers: [], polite: true, iceServers: [], resume: 'x', graceMs: 1000 });

describe('SignalingClient (Node, real server)', () => {
  test('signals sent while reconnecting are queued and flushed in order after the resumed joined', async (t) => {
    const server = await serverFor(t, { reconnectGraceMs: 5000 });
    const peer = await TestClient.connect(server.wsUrl);
    t.after(() => peer.close());
    await peer.join('queue');
    const c = client(t, { url: server.wsUrl, room: 'queue', reconnect: { initialDelayMs: 20, jitter: 0 } });
    const first = await c.connect();
    await peer.next('peer-joined');

    const reconnecting = nextEvent(c, 'state', (s: { state: string }) => s.state === 'reconnecting');
    c.reconnectNow();
    await reconnecting;
    for (let i = 0; i < 10; i++) c.send({ n: i });
    const rejoined = await nextEvent<{ message: { peerId: string }; resumed: boolean }>(c, 'joined');
    assert.equal(rejoined.resumed, true);
    assert.equal(rejoined.message.peerId, first.peerId, 'same seat');
    for (let i = 0; i < 10; i++) assert.deepEqual((await peer.next('signal')).data, { n: i });
  });

  test('a new client with the stored resume value takes the same seat back (a page reload)', async (t) => {
    const server = await serverFor(t, { reconnectGraceMs: 5000 });
    const storage = memoryStorage();
    const before = client(t, { url: server.wsUrl, room: 'reload', storage });
    const seat = await before.connect();
    assert.equal(storage.map.size, 1, 'resume value stored');
    before.close(); // the page goes away without leave
    const after = client(t, { url: server.wsUrl, room: 'reload', storage });
    const joined = await after.connect();
    assert.equal(joined.peerId, seat.peerId);
  });

  test('leave forgets the stored resume value', async (t) => {
    const server = await serverFor(t);
    const storage = memoryStorage();
    const c = client(t, { url: server.wsUrl, room: 'forget', storage });
    await c.connect();
    c.leave();
    assert.equal(storage.map.size, 0);
    assert.equal(c.state, 'closed');
  });

  test('a socket whose pongs stop is declared dead and the client reconnects', async (t) => {
    // A server that accepts and seats nobody, then goes quiet: only the ping timeout can tell.
    let connections = 0;
    const url = await fakeServer(t, (socket) => {
      connections++;
      socket.once('message', () => socket.send(FAKE_JOINED));
    });
    const c = client(t, { url, room: 'r', pingIntervalMs: 200, pongTimeoutMs: 200, reconnect: { initialDelayMs: 10, jitter: 0 } });
    await c.connect();
    await nextEvent(c, 'state', (s: { state: string }) => s.state === 'reconnecting');
    await nextEvent(c, 'joined');
    assert.ok(connections >= 2, `reconnected (${connections} connections)`);
  });

  test('a normal close (1000) from the server is final: server-closed, no reconnect', async (t) => {
    let connections = 0;
    const url = await fakeServer(t, (socket) => {
      connections++;
      socket.once('message', () => {
        socket.send(FAKE_JOINED);
        socket.close(1000, 'done with you');
      });
    });
    const c = client(t, { url, room: 'r', reconnect: { initialDelayMs: 10, jitter: 0 } });
    const fatal = nextEvent<CallError>(c, 'error', (e) => e.fatal);
    await c.connect();
    const error = await fatal;
    assert.equal(error.code, 'server-closed');
    assert.equal(c.state, 'closed');
    assert.equal(connections, 1, 'no second connection');
  });

  test('a frame over the server\'s maxPayload ends in a fatal server-closed (1009), with no reconnect', async (t) => {
    const server = await serverFor(t, { maxPayload: 1024 });
    const c = client(t, { url: server.wsUrl, room: 'too-big', reconnect: { initialDelayMs: 10, jitter: 0 } });
    await c.connect();
    const fatal = nextEvent<CallError>(c, 'error', (e) => e.fatal);
    c.send({ blob: 'x'.repeat(4096) });
    const error = await fatal;
    assert.equal(error.code, 'server-closed');
    assert.match(error.message, /1009/);
    assert.equal(c.state, 'closed');
  });

  test('the server\'s rate-limited answer reaches the app as a non-fatal error; the client stays seated', async (t) => {
    const server = await serverFor(t, { rateLimit: 1 });
    const c = client(t, { url: server.wsUrl, room: 'chatty' });
    await c.connect();
    const limited = nextEvent<CallError>(c, 'error', (e) => e.code === 'rate-limited');
    // The bucket holds two (burst = 2 × rate): the third signal in a row is over the rate.
    for (let i = 0; i < 3; i++) c.send({ n: i });
    const error = await limited;
    assert.equal(error.fatal, false);
    assert.ok((error.retryAfterMs ?? 0) > 0, 'with a retryAfterMs');
    assert.equal(c.state, 'joined');
  });

  test('reconnect delays grow by the factor up to maxDelayMs, each shortened by at most the jitter', async (t) => {
    const server = await startServer();
    const options = { initialDelayMs: 40, factor: 2, maxDelayMs: 200, maxAttempts: 6, jitter: 0.25 };
    const sockets: number[] = [];
    class Recording extends WebSocket {
      constructor(url: string, protocols: string) {
        super(url, protocols);
        sockets.push(performance.now());
      }
    }
    const c = new SignalingClient({ storage: null, url: server.wsUrl, room: 'backoff', reconnect: options, WebSocket: Recording as unknown as typeof globalThis.WebSocket });
    t.after(() => c.close());
    await c.connect();
    const gaveUp = nextEvent<CallError>(c, 'error', (e) => e.fatal, 10_000);
    // Nothing listens on the port once the server is gone: every attempt is refused at once.
    await server.close();
    assert.equal((await gaveUp).code, 'server-unreachable');
    const attempts = sockets.slice(1);
    assert.equal(attempts.length, options.maxAttempts, 'one socket per attempt');
    // Attempt n (from 0) waits min(maxDelayMs, initialDelayMs × factor^n), shortened by up to 25 %;
    // the gap between attempts n-1 and n is that wait plus a refused connection.
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    const waits = gaps.map((_, i) => Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (i + 1)));
    const report = `gaps ${gaps.map(Math.round).join(', ')} ms for waits ${waits.join(', ')} ms`;
    gaps.forEach((gap, i) => assert.ok(gap >= (waits[i] as number) * (1 - options.jitter) - 5, report));
    // Uncapped, the last wait would be 40 × 2^5 = 1280 ms.
    assert.ok((gaps.at(-1) as number) < 1000, `capped at maxDelayMs: ${report}`);
  });

  test('gives up with server-unreachable after the configured attempts', async (t) => {
    const server = await startServer();
    const c = client(t, { url: server.wsUrl, room: 'gone', reconnect: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3, jitter: 0 } });
    await c.connect();
    const failed = nextEvent<CallError>(c, 'error', (e) => e.fatal);
    await server.close();
    const error = await failed;
    assert.equal(error.code, 'server-unreachable');
    assert.equal(c.state, 'closed');
  });

  test('an invalid room id is refused at once with a fatal invalid-room, not a timeout', async (t) => {
    const c = client(t, { url: 'ws://127.0.0.1:9/ws', room: 'not a room!' });
    const error = await c.connect().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof CallError);
    assert.equal(error.code, 'invalid-room');
    assert.equal(error.fatal, true);
  });

  test('a reconnect whose socket opens but is never seated is abandoned and retried, then gives up', async (t) => {
    const server = await startServer();
    const port = server.port;
    const c = client(t, {
      url: server.wsUrl, room: 'limbo', connectTimeoutMs: 1000,
      // The first retry comes well after the silent server below has bound the port.
      reconnect: { initialDelayMs: 300, maxDelayMs: 300, maxAttempts: 3, jitter: 0 },
    });
    await c.connect();
    await server.close();
    // Same port, but a server that accepts sockets and never answers a join.
    let opened = 0;
    await fakeServer(t, () => opened++, port);
    const error = await nextEvent<CallError>(c, 'error', (e) => e.fatal, 10_000);
    assert.equal(error.code, 'server-unreachable');
    assert.ok(opened >= 1, `sockets opened on the silent server: ${opened}`);
  });
  test('server-busy while taking its seat back is not fatal: the client waits retryAfterMs and resumes', async (t) => {
    // A node whose Redis is down answers a resume with server-busy; the call must survive it.
    const joins: Array<{ resume?: string; at: number }> = [];
    const url = await fakeServer(t, (socket) => {
      socket.on('message', (raw) => {
        const message = JSON.parse(raw.toString()) as { type: string; resume?: string };
        if (message.type !== 'join') return;
        joins.push({ ...(message.resume === undefined ? {} : { resume: message.resume }), at: Date.now() });
        if (joins.length === 2) socket.send(JSON.stringify({ type: 'error', code: 'server-busy', message: 'store down', ref: 'join', retryAfterMs: 400 }));
        else socket.send(FAKE_JOINED);
        if (joins.length === 1) setTimeout(() => socket.terminate(), 10);
      });
    });
    const c = client(t, { url, room: 'r', reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 } });
    const fatal: CallError[] = [];
    c.on('error', (error: CallError) => void (error.fatal && fatal.push(error)));
    await c.connect();
    const resumed = await nextEvent<{ resumed: boolean }>(c, 'joined', () => true, 5_000);
    assert.equal(resumed.resumed, true);
    assert.equal(joins.length, 3);
    assert.equal(joins[1]?.resume, 'x');
    assert.equal(joins[2]?.resume, 'x', 'still resuming the same seat');
    assert.ok((joins[2]?.at ?? 0) - (joins[1]?.at ?? 0) >= 350, 'waited about retryAfterMs');
    assert.deepEqual(fatal, []);
    assert.equal(c.state, 'joined');
  });

  test('server-busy at the first join is still fatal (try again shortly)', async (t) => {
    const url = await fakeServer(t, (socket) => {
      socket.on('message', () => socket.send(JSON.stringify({ type: 'error', code: 'server-busy', message: 'busy', ref: 'join', retryAfterMs: 5000 })));
    });
    const c = client(t, { url, room: 'r' });
    const error = await c.connect().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof CallError);
    assert.equal(error.code, 'server-busy');
    assert.equal(error.fatal, true);
  });
});
