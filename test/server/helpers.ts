/**
 * Test plumbing for the signaling server: a real server on port 0 and real `ws` clients that
 * collect frames so a test can await the next one of a given type (never a sleep).
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../server/index.js';
import { PROTOCOL_V1, type ServerMessage, type ServerMessageType } from '../../sdk/protocol.js';

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
}

type Message<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

/** A real WebSocket client that queues what it receives. */
export class TestClient {
  readonly socket: WebSocket;
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly inbox: ServerMessage[] = [];
  private waiter: (() => void) | undefined;

  private constructor(socket: WebSocket) {
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
    const client = new TestClient(socket);
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
  async next<T extends ServerMessageType>(type?: T, timeoutMs = 3000): Promise<Message<T>> {
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

export interface RawUpgradeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends a WebSocket upgrade request by hand and returns the HTTP answer, so a test can read the
 * status and JSON body of a refusal (403, 426, 503) that a WebSocket client would hide.
 */
export function rawUpgrade(port: number, headers: Record<string, string>, path = '/ws'): Promise<RawUpgradeResponse> {
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
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
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
