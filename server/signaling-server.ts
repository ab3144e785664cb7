/**
 * The signaling server: HTTP upgrade checks (subprotocol, origin, capacity), the heartbeat,
 * and the life cycle (listen, graceful close). Per-socket protocol work is in connection.ts,
 * seats in rooms.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { SIGNALING_PATH, SUPPORTED_PROTOCOLS, selectProtocol } from '../sdk/protocol.js';
import { ConfigError, resolveOptions, type ResolvedOptions, type SignalingServerOptions } from './config.js';
import { Connection } from './connection.js';
import { createRequestHandler, refuseUpgrade } from './http.js';
import { JoinTokenVerifier } from './join-tokens.js';
import { packageRoot, packageVersion } from './package-root.js';
import { InMemoryRooms, type RoomDirectory } from './rooms.js';
import { iceServersFor } from './turn-credentials.js';

/** Seconds a client refused for capacity is told to wait (`Retry-After`). */
export const BUSY_RETRY_AFTER_S = 5;
/** A socket may have this many max-size frames unread before it is cut off as too slow. */
const MAX_BUFFERED_FRAMES = 16;
/** How long a graceful close waits for clients to acknowledge before cutting them off. */
const SHUTDOWN_DRAIN_MS = 2_000;

export interface ServerStats {
  connections: number;
  rooms: number;
}

export interface SignalingServer {
  /** Starts listening on `port`/`host` (own server only); resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: every socket gets `server-shutdown` and close 1001; stops listening. */
  close(): Promise<void>;
  /** The HTTP(S) server: the one given as `server`, or the server's own. */
  readonly httpServer: HttpServer | HttpsServer;
  readonly log: Logger;
  stats(): ServerStats;
}

/** Creates a signaling server; validates every option first and throws {@link ConfigError}. */
export function createSignalingServer(options: SignalingServerOptions = {}): SignalingServer {
  return new SignalingServerImpl(resolveOptions(options));
}

class SignalingServerImpl implements SignalingServer {
  readonly httpServer: HttpServer | HttpsServer;
  readonly log: Logger;
  private readonly attached: boolean;
  private readonly wss: WebSocketServer;
  private readonly rooms: RoomDirectory;
  private readonly tokens: JoinTokenVerifier | undefined;
  private readonly connections = new Set<Connection>();
  /** Open and handshaking sockets per client address, for the per-address limit. */
  private readonly perAddress = new Map<string, number>();
  private reserved = 0;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private closing: Promise<void> | undefined;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

  constructor(private readonly options: ResolvedOptions) {
    this.log = options.logger ?? pino({ level: options.logLevel, base: { service: 'p2p-call' } });
    this.tokens = options.tokenSecret === undefined ? undefined : new JoinTokenVerifier(options.tokenSecret);
    const turn = { secret: options.turnSecret, turnUrls: options.turnUrls, stunUrls: options.stunUrls, ttl: options.turnTtl };
    this.rooms = new InMemoryRooms({
      graceMs: options.reconnectGraceMs,
      maxRooms: options.maxRooms,
      // An address may hold as many seats as it may hold sockets; held seats count too.
      maxSeatsPerAddress: options.maxConnectionsPerIp,
      iceServersFor: (peerId) => iceServersFor(turn, peerId),
      onSeatExpired: (seat) => this.log.info({ room: seat.room, peerId: seat.peerId }, 'seat expired'),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      handleProtocols: (offered) => selectProtocol(offered) ?? false,
      // Signaling frames are small and latency matters more than bytes.
      perMessageDeflate: false,
    });

    this.attached = options.server !== undefined;
    this.httpServer = options.server ?? this.createOwnServer();
    this.httpServer.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.beat(), options.pingIntervalMs);
    this.heartbeat.unref();
  }

  listen(): Promise<string> {
    if (this.attached) return Promise.reject(new Error('listen() is for the server\'s own HTTP server; the attached one is yours to listen'));
    return new Promise((resolve, reject) => {
      const server = this.httpServer;
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', onError);
        const { port } = server.address() as AddressInfo;
        const scheme = this.options.tlsCert === undefined ? 'http' : 'https';
        const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
        const url = `${scheme}://${host}:${port}`;
        this.log.info({ url, protocols: SUPPORTED_PROTOCOLS }, 'listening');
        resolve(url);
      });
    });
  }

  stats(): ServerStats {
    return { connections: this.connections.size, rooms: this.rooms.roomCount };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private createOwnServer(): HttpServer | HttpsServer {
    const root = packageRoot();
    const handler = createRequestHandler({
      staticDir: this.options.staticDir ?? join(root, 'demo'),
      bundleDir: this.options.bundleDir ?? join(root, 'dist'),
      version: packageVersion(root),
      log: this.log,
    });
    const listener = (req: IncomingMessage, res: Parameters<typeof handler>[1]) => void handler(req, res);
    if (this.options.tlsCert === undefined || this.options.tlsKey === undefined) return createHttpServer(listener);
    return createHttpsServer({ cert: readPem('tlsCert', this.options.tlsCert), key: readPem('tlsKey', this.options.tlsKey) }, listener);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // The path as sent, query dropped; never `new URL(req.url)`, which throws on targets like `//`.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== SIGNALING_PATH) {
      // On an attached server other upgrade paths belong to the host application.
      if (this.attached) return;
      // Node removes its own error listener from upgrade sockets: a client that resets
      // while we answer would otherwise crash the process.
      socket.on('error', () => socket.destroy());
      refuseUpgrade(socket, 404, { error: 'not-found' });
      return;
    }
    socket.on('error', () => socket.destroy());
    const address = this.clientAddress(req);
    const refuse = (status: number, body: Parameters<typeof refuseUpgrade>[2], headers?: Record<string, string>) => {
      this.log.info({ status, error: body.error, address, origin: req.headers.origin }, 'upgrade refused');
      refuseUpgrade(socket, status, body, headers);
    };

    if (this.closing) return refuse(503, { error: 'server-busy' }, { 'Retry-After': String(BUSY_RETRY_AFTER_S) });
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const protocol = selectProtocol(offered);
    if (protocol === undefined) {
      return refuse(426, { error: 'unsupported-protocol', supported: [...SUPPORTED_PROTOCOLS] }, {
        'Sec-WebSocket-Version': '13',
      });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && this.options.allowedOrigins.length > 0 && !this.options.allowedOrigins.includes(origin)) {
      return refuse(403, { error: 'forbidden-origin' });
    }
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.reserved >= this.options.maxConnections || fromAddress >= this.options.maxConnectionsPerIp) {
      return refuse(503, { error: 'server-busy' }, { 'Retry-After': String(BUSY_RETRY_AFTER_S) });
    }

    // Reserve the slot now so that concurrent handshakes cannot overshoot the limits.
    this.reserved++;
    this.perAddress.set(address, fromAddress + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.reserved--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
    socket.once('close', release);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, address, protocol, release));
  }

  private accept(ws: WebSocket, address: string, protocol: string, release: () => void): void {
    const connection = new Connection(ws, randomBytes(6).toString('base64url'), address, {
      rooms: this.rooms,
      tokens: this.tokens,
      rateLimit: this.options.rateLimit,
      maxBufferedBytes: MAX_BUFFERED_FRAMES * this.options.maxPayload,
      log: this.log,
      awayGraceMs: this.options.awayGraceMs,
      iceServersFor: (peerId) => iceServersFor({ secret: this.options.turnSecret, turnUrls: this.options.turnUrls, stunUrls: this.options.stunUrls, ttl: this.options.turnTtl }, peerId),
    });
    this.connections.add(connection);
    this.log.info({ conn: connection.id, address, protocol }, 'connection opened');
    ws.on('error', (error) => this.log.warn({ conn: connection.id, err: error.message }, 'socket error'));
    ws.on('close', (code) => {
      this.connections.delete(connection);
      release();
      connection.handleClose(code);
    });
    if (this.closing) connection.shutdown();
  }

  /** The client's address; behind a trusted proxy, the right-most `X-Forwarded-For` entry (the one the proxy added). */
  private clientAddress(req: IncomingMessage): string {
    const direct = req.socket.remoteAddress ?? 'unknown';
    if (!this.options.trustProxy) return direct;
    const header = req.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header.join(',') : header;
    const last = value?.split(',').map((part) => part.trim()).filter(Boolean).at(-1);
    return last ?? direct;
  }

  /** A socket that has not answered the previous ping by now is dead: terminate it (a drop). */
  private beat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        this.log.info({ conn: connection.id }, 'heartbeat missed; terminating');
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private async shutdown(): Promise<void> {
    this.log.info({ connections: this.connections.size }, 'shutting down');
    clearInterval(this.heartbeat);
    // Seats die with the process; stopping the grace timers first keeps closes from starting new ones.
    this.rooms.close();
    const closed = [...this.connections].map((connection) => new Promise<void>((resolve) => {
      connection.socket.once('close', () => resolve());
      connection.shutdown();
    }));
    const drained = await Promise.race([
      Promise.all(closed).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), SHUTDOWN_DRAIN_MS).unref()),
    ]);
    if (!drained) for (const connection of this.connections) connection.socket.terminate();
    this.wss.close();
    if (this.attached) {
      this.httpServer.off('upgrade', this.onUpgrade);
      return;
    }
    await new Promise<void>((resolve) => {
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
  }
}

function readPem(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}
