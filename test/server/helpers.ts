/**
 * Test plumbing for the signaling server: a real server on port 0 and real `ws` clients that
 * collect frames so a test can await the next one of a given type (never a sleep).
 */
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../server/index.js';
import { startRedis, type RedisProcess } from '../redis.js';
import { PROTOCOL_V1, type JoinedMessage, type ServerMessage, type ServerMessageType } from '../../sdk/protocol.js';

export interface RunningServer {
  server: SignalingServer;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  /** ws://127.0.0.1:PORT/ws */
  wsUrl: string;
  port: number;
  close(): Promise<void>;
}

/** Starts a server on a free port with logging off unless the test asks for it. */
export async function startServer(options: SignalingServerOptions = {}): Promise<RunningServer> {
  const server = createSignalingServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  const httpUrl = await server.listen();
  const port = Number(new URL(httpUrl).port);
  return {
    server,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    close: () => server.close(),
  };
}

export interface ConnectOptions {
  protocols?: string | string[];
  origin?: string;
  headers?: Record<string, string>;
  /** Answer the server's WebSocket pings automatically (ws default: true). */
  autoPong?: boolean;
  /** How long `next()` (and so `join()`, `expectQuiet()`) waits by default; 3000 ms. */
  waitMs?: number;
}

type Message<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

/** A real WebSocket client that queues what it receives. */
export class TestClient {
  readonly socket: WebSocket;
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly inbox: ServerMessage[] = [];
  private waiter: (() => void) | undefined;

  private constructor(socket: WebSocket, private readonly waitMs: number) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.waiter?.();
      });
    });
    socket.on('message', (data) => {
      this.inbox.push(JSON.parse(data.toString()) as ServerMessage);
      this.waiter?.();
    });
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    const socket = new WebSocket(url, options.protocols ?? PROTOCOL_V1, {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      headers: options.headers ?? {},
      autoPong: options.autoPong ?? true,
    });
    const client = new TestClient(socket, options.waitMs ?? 3000);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`unexpected HTTP ${res.statusCode}`)));
    });
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Every message received and not yet taken by `next`. */
  get pending(): readonly ServerMessage[] {
    return this.inbox;
  }

  /**
   * The next message (of `type`, if given; earlier messages of other types stay queued).
   * Rejects if the socket closes or nothing comes within `timeoutMs`.
   */
  async next<T extends ServerMessageType>(type?: T, timeoutMs = this.waitMs): Promise<Message<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((m) => type === undefined || m.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Message<T>;
      if (this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`socket closed while waiting for ${type ?? 'a message'}; got ${JSON.stringify(this.inbox)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type ?? 'a message'}; got ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** The next `error` frame, checked to carry `code`. */
  async nextError(code: string, timeoutMs?: number): Promise<Message<'error'>> {
    const error = await this.next('error', timeoutMs);
    if (error.code !== code) throw new Error(`expected error ${code}, got ${JSON.stringify(error)}`);
    return error;
  }

  /**
   * Proves nothing else is queued: sends an app-level ping and expects the very next frame to
   * be its pong. The server answers in order, so anything it sent before would come first.
   */
  async expectQuiet(): Promise<void> {
    this.send({ type: 'ping' });
    const message = await this.next();
    if (message.type !== 'pong') throw new Error(`expected nothing before pong, got ${JSON.stringify(message)}`);
    if (this.inbox.length > 0) throw new Error(`unexpected frames: ${JSON.stringify(this.inbox)}`);
  }

  async join(room: string, extra: { token?: string; resume?: string } = {}): Promise<Message<'joined'>> {
    this.send({ type: 'join', room, ...extra });
    return this.next('joined');
  }

  close(code?: number): void {
    this.socket.close(code);
  }

  /** Drops the TCP connection without a close frame, like a network failure. */
  drop(): void {
    this.socket.terminate();
  }
}

/** Connects and joins in one step. */
export async function joinedClient(url: string, room: string, extra: { token?: string; resume?: string } = {}) {
  const client = await TestClient.connect(url);
  const joined = await client.join(room, extra);
  return { client, joined };
}

// ---------------------------------------------------------------------------------------------
// Per-test servers and clients, closed when the test ends

/** A server for the test `t`, closed when the test ends. */
export async function serverFor(t: TestContext, options: SignalingServerOptions = {}): Promise<RunningServer> {
  const running = await startServer(options);
  t.after(() => running.close());
  return running;
}

/** A connected client for the test `t`, dropped when the test ends. */
export async function clientFor(t: TestContext, url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const client = await TestClient.connect(url, options);
  t.after(() => client.drop());
  return client;
}

/**
 * Two clients of the test `t` seated in `room`: `a` joins first, then `b`, and `a` has taken
 * its peer-joined (returned as `peerJoined`, unchecked: the caller asserts what it needs).
 */
export async function pairIn(t: TestContext, url: string, room: string) {
  const a = await clientFor(t, url);
  const b = await clientFor(t, url);
  const joinedA = await a.join(room);
  const joinedB = await b.join(room);
  const peerJoined = await a.next('peer-joined');
  return { a, b, joinedA, joinedB, idA: joinedA.peerId, idB: joinedB.peerId, peerJoined };
}

export interface Seated {
  client: TestClient;
  joined: JoinedMessage;
}

export interface Harness extends RunningServer {
  connect(): Promise<TestClient>;
  /** A new client seated in `room` (the harness's room unless given). */
  seat(room?: string, extra?: { token?: string; resume?: string }): Promise<Seated>;
  /** Two peers seated in the harness's room, the first having seen peer-joined. */
  pair(extra?: { token?: string }): Promise<[Seated, Seated]>;
}

/**
 * A server for one test; it and every client are closed when the test ends (the server first,
 * then the clients are dropped). `room` is where `seat()` and `pair()` seat by default.
 */
export async function harness(t: TestContext, options: SignalingServerOptions = {}, room = 'room'): Promise<Harness> {
  const nodes = await startNodes(options);
  const running = nodes.length === 1 ? (nodes[0] as RunningServer) : combined(nodes);
  let turn = 0;
  const clients: TestClient[] = [];
  t.after(async () => {
    await running.close();
    for (const client of clients) client.drop();
  });
  const connect = async (): Promise<TestClient> => {
    // Over several nodes, each new client goes to the next one: a pair sits on different nodes.
    const node = nodes[turn++ % nodes.length] as RunningServer;
    const client = await TestClient.connect(node.wsUrl);
    clients.push(client);
    return client;
  };
  const seat = async (where = room, extra: { token?: string; resume?: string } = {}): Promise<Seated> => {
    const client = await connect();
    return { client, joined: await client.join(where, extra) };
  };
  return {
    ...running,
    connect,
    seat,
    async pair(extra = {}) {
      const a = await seat(room, extra);
      const b = await seat(room, extra);
      assert.equal((await a.client.next('peer-joined')).peerId, b.joined.peerId);
      return [a, b];
    },
  };
}

/** Drops `b` and waits until `a` has been told, so the server holds b's seat. */
export async function dropAndWait(a: Seated, b: Seated): Promise<void> {
  b.client.drop();
  assert.equal((await a.client.next('peer-disconnected')).peerId, b.joined.peerId);
}

/** Rejects with "`what` within `ms` ms" unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Reads a response to its end: status, headers and body text. */
function answerOf(res: IncomingMessage, resolve: (answer: RawAnswer) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
}

/**
 * Sends a WebSocket upgrade request by hand and returns the HTTP answer, so a test can read the
 * status and JSON body of a refusal (403, 426, 503) that a WebSocket client would hide.
 */
export function rawUpgrade(port: number, headers: Record<string, string>, path = '/ws'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => answerOf(res, resolve));
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP request with the path sent byte for byte as given (no URL normalization). */
export function rawRequest(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => answerOf(res, resolve));
    req.on('error', reject);
    req.end();
  });
}

/** GET a path on the server; returns status, headers and body text. */
export async function httpGet(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

export function portOf(address: AddressInfo | string | null): number {
  if (address === null || typeof address === 'string') throw new Error('server is not listening on a TCP port');
  return address.port;
}

// ---------------------------------------------------------------------------------------------
// Several nodes sharing rooms in Redis (P2P_TEST_NODES=2 runs the protocol suites that way)

/** How many nodes `harness()` starts: 1, or more sharing one Redis. */
export const TEST_NODES = Number(process.env['P2P_TEST_NODES'] ?? '1');
let sharedRedis: Promise<RedisProcess> | undefined;
let prefixes = 0;

/** One Redis for the whole test file; each harness gets keys of its own. */
export function redisForTests(): Promise<RedisProcess> {
  sharedRedis ??= startRedis();
  return sharedRedis;
}

/** A key prefix no other test of this run uses. */
export function uniqueKeyPrefix(): string {
  return `t${process.pid}-${++prefixes}:`;
}

async function startNodes(options: SignalingServerOptions): Promise<RunningServer[]> {
  if (TEST_NODES < 2) return [await startServer(options)];
  const redis = await redisForTests();
  const shared = { redisUrl: redis.url, redisKeyPrefix: uniqueKeyPrefix(), ...options };
  return Promise.all(Array.from({ length: TEST_NODES }, () => startServer(shared)));
}

/** The local rooms of one node (the seat policy's own view), for stats over several nodes. */
export function localRooms(server: SignalingServer): Set<string> {
  return (server as unknown as { rooms: { localRooms(): Set<string> } }).rooms.localRooms();
}

/** Several nodes seen as one server: the first node's URLs, stats over all of them. */
function combined(nodes: RunningServer[]): RunningServer {
  const first = nodes[0] as RunningServer;
  const server: SignalingServer = Object.create(first.server, {
    stats: {
      value: () => {
        const rooms = new Set<string>();
        for (const node of nodes) for (const room of localRooms(node.server)) rooms.add(room);
        const each = nodes.map((node) => node.server.stats());
        return {
          ...first.server.stats(),
          connections: each.reduce((sum, stats) => sum + stats.connections, 0),
          seatsHeld: each.reduce((sum, stats) => sum + stats.seatsHeld, 0),
          rooms: rooms.size,
        };
      },
    },
  }) as SignalingServer;
  return { ...first, server, close: async () => void (await Promise.all(nodes.map((node) => node.close()))) };
}

/** A pino logger whose lines (one JSON object each) the test can read back. */
export function capturingLogger(level: LevelWithSilent = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
