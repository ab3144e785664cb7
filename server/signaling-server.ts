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
import { createRequestHandler, handleHealthCheck, isMetricsRequest, refuseUpgrade } from './http.js';
import { JoinTokenVerifier } from './join-tokens.js';
import { MemoryRoomStore } from './memory-room-store.js';
import { createMetrics, serveMetrics, type ServerMetrics } from './metrics.js';
import { packageRoot, packageVersion } from './package-root.js';
import { RedisRoomStore } from './redis-room-store.js';
import { linkId, type RoomStore } from './room-store.js';
import { Rooms } from './rooms.js';
import { iceServersFor } from './turn-credentials.js';
import { LogLimiter, truncate } from './log-limiter.js';
import { PendingConnections } from './pending-connections.js';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import type { HealthResponse, IceServer } from '../sdk/protocol.js';
import type { ServerResponse } from 'node:http';

/** Seconds a client refused for capacity is told to wait (`Retry-After`). */
export const BUSY_RETRY_AFTER_S = 5;
/**
 * How much a socket may leave unread before it is cut off as too slow: 16 max-size frames, but
 * at most 4 MiB unless one frame needs more (then two frames' worth). So the bound follows
 * `maxPayload` only as far as a single frame must.
 */
export function slowReaderBound(maxPayload: number): number {
  return Math.min(16 * maxPayload, Math.max(4 * 1024 * 1024, 2 * maxPayload));
}
/** How long a graceful close waits for clients to acknowledge before cutting them off. */
const SHUTDOWN_DRAIN_MS = 2_000;

export interface ServerStats {
  /** This node's open sockets. */
  connections: number;
  /** Rooms in which this node holds a seat, live or held. */
  rooms: number;
  /** Seats this node holds for dropped peers. */
  seatsHeld: number;
  /** This node's id (in logs, metrics and `/healthz` of a shared store). */
  node: string;
  /** False while the room store (Redis) cannot be reached. */
  storeAvailable: boolean;
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
  /** This node's Prometheus registry, for apps that serve metrics their own way. */
  readonly metrics: Registry;
  /** Answers `GET /healthz` with this node's health (503 while its store is down); false for other requests. */
  handleHealthCheck(req: IncomingMessage, res: ServerResponse): boolean;
  /** Answers `GET /metrics` (bearer token checked when configured); false for other requests. */
  handleMetrics(req: IncomingMessage, res: ServerResponse): boolean;
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
  private readonly store: RoomStore;
  private readonly rooms: Rooms;
  private readonly started: Promise<void>;
  private readonly serverMetrics: ServerMetrics;
  private readonly tokens: JoinTokenVerifier | undefined;
  private readonly logLimiter = new LogLimiter();
  /** Mints a seat's `iceServers` (TURN credentials), for `joined` and for `ice-servers`. */
  private readonly iceServersFor: (peerId: string) => IceServer[];
  private readonly pending: PendingConnections;
  private readonly connections = new Set<Connection>();
  /** Open and handshaking sockets per client address, for the per-address limit. */
  private readonly perAddress = new Map<string, number>();
  private reserved = 0;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private lastBeat = performance.now();
  private closing: Promise<void> | undefined;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

  constructor(private readonly options: ResolvedOptions) {
    const baseLog = options.logger ?? pino({ level: options.logLevel, base: { service: 'p2p-call' } });
    this.tokens = options.tokenSecret === undefined ? undefined : new JoinTokenVerifier(options.tokenSecret);
    const turn = { secret: options.turnSecret, turnUrls: options.turnUrls, stunUrls: options.stunUrls, ttl: options.turnTtl };
    this.iceServersFor = (peerId) => iceServersFor(turn, peerId);
    this.store = options.roomStore ?? this.createStore(baseLog);
    this.pending = new PendingConnections({
      total: options.maxPendingConnections,
      // Behind a trusted proxy every socket comes from the proxy, which sends whole request heads.
      perAddress: options.trustProxy ? undefined : options.maxPendingConnectionsPerIp,
      onRefused: (reason) => this.serverMetrics.refused.inc({ reason }),
    });
    this.log = baseLog.child({ node: this.store.nodeId });
    this.serverMetrics = createMetrics({
      connections: () => this.connections.size,
      rooms: () => this.rooms.roomCount,
      seatsHeld: () => this.rooms.heldSeatCount,
      storeAvailable: () => this.store.available,
    }, { node: this.store.nodeId });
    this.rooms = new Rooms({
      store: this.store,
      graceMs: options.reconnectGraceMs,
      maxRooms: options.maxRooms,
      // An address may hold as many seats as it may hold sockets; held seats count too.
      maxSeatsPerAddress: options.maxConnectionsPerIp,
      maxQueuedBytesPerSeat: options.maxQueuedBytesPerSeat,
      maxQueuedBytesPerAddress: options.maxQueuedBytesPerIp,
      iceServersFor: this.iceServersFor,
      onSeatExpired: (seat) => this.log.info({ room: seat.room, peerId: seat.peerId }, 'seat expired'),
      onRelayed: (seconds) => this.serverMetrics.relayLatency.observe(seconds),
    });
    this.started = this.rooms.start().catch((error: unknown) => this.log.error({ err: String(error) }, 'room store did not start'));
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
    if (!this.attached) {
      // For the server's whole life, not only while listen() runs: an 'error' without a listener
      // would end the process.
      this.httpServer.on('error', (error: Error) => this.log.error({ err: error.message }, 'http server error'));
      this.pending.attach(this.httpServer);
    }
    this.heartbeat = setInterval(() => this.beat(), options.pingIntervalMs);
    this.heartbeat.unref();
  }

  async listen(): Promise<string> {
    if (this.attached) throw new Error('listen() is for the server\'s own HTTP server; the attached one is yours to listen');
    await this.started;
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
    return {
      connections: this.connections.size,
      rooms: this.rooms.roomCount,
      seatsHeld: this.rooms.heldSeatCount,
      node: this.store.nodeId,
      storeAvailable: this.store.available,
    };
  }

  get metrics(): Registry {
    return this.serverMetrics.registry;
  }

  handleHealthCheck(req: IncomingMessage, res: ServerResponse): boolean {
    // One node alone answers as it always has; nodes of a shared store say which and how it is.
    const health: Omit<HealthResponse, 'protocols'> = this.store.shared
      ? { ok: this.store.available, store: this.store.available ? 'up' : 'down', node: this.store.nodeId }
      : { ok: this.store.available };
    return handleHealthCheck(req, res, health);
  }

  handleMetrics(req: IncomingMessage, res: ServerResponse): boolean {
    if (!isMetricsRequest(req)) return false;
    serveMetrics(req, res, this.serverMetrics.registry, this.options.metricsToken).catch((error: unknown) => {
      this.log.error({ err: String(error) }, 'metrics failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
    return true;
  }

  private createStore(log: Logger): RoomStore {
    if (this.options.redisUrl === undefined) return new MemoryRoomStore();
    return new RedisRoomStore({
      url: this.options.redisUrl,
      cluster: this.options.redisCluster,
      keyPrefix: this.options.redisKeyPrefix,
      // Dead within 3 beats + one reap period: inside PROTOCOL's 2 × ping interval + 1 s.
      beatMs: Math.max(100, Math.min(5_000, Math.floor(this.options.pingIntervalMs / 2))),
      log,
      onError: (operation) => this.serverMetrics?.storeErrors.inc({ operation }),
    });
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
      // A lobby may ask whether its room is full. Not where joins need a token: who is in a
      // room is then as private as the room.
      ...(this.options.tokenSecret === undefined ? { occupancy: async (room: string) => (await this.store.read(room)).seats.length } : {}),
    });
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (this.handleHealthCheck(req, res) || this.handleMetrics(req, res)) return;
      void handler(req, res);
    };
    const timeouts = {
      // Node's defaults let a half-sent request head hold its socket for about 90 s.
      headersTimeout: this.options.headerTimeoutMs,
      requestTimeout: Math.max(30_000, this.options.headerTimeoutMs + 1_000),
      connectionsCheckingInterval: Math.min(1_000, this.options.headerTimeoutMs),
    };
    if (this.options.tlsCert === undefined || this.options.tlsKey === undefined) return createHttpServer(timeouts, listener);
    return createHttpsServer({
      ...timeouts,
      handshakeTimeout: this.options.headerTimeoutMs,
      cert: readPem('tlsCert', this.options.tlsCert),
      key: readPem('tlsKey', this.options.tlsKey),
    }, listener);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.pending.settled(req.socket as Socket);
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
      this.serverMetrics.refused.inc({ reason: body.error });
      if (this.logLimiter.allow('upgrade refused', (kind, count) => this.log.warn({ kind, count }, 'log lines left out'))) {
        this.log.info({ status, error: body.error, address, origin: truncate(req.headers.origin) }, 'upgrade refused');
      }
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
    const release = this.reserveSlot(address, fromAddress);
    socket.once('close', release);
    this.wss.handleUpgrade(req, socket, head, this.acceptor(address, protocol, release));
  }

  /**
   * Counts a socket against the limits; the returned function (idempotent) uncounts it. Built
   * outside `upgrade()` so that this long-lived closure does not keep the upgrade request alive.
   */
  private reserveSlot(address: string, fromAddress: number): () => void {
    this.reserved++;
    this.perAddress.set(address, fromAddress + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
  }

  /** The upgrade's callback, likewise without the request in its scope. */
  private acceptor(address: string, protocol: string, release: () => void): (ws: WebSocket) => void {
    return (ws) => this.accept(ws, address, protocol, release);
  }

  private accept(ws: WebSocket, address: string, protocol: string, release: () => void): void {
    const connection = new Connection(ws, linkId(this.store.nodeId, randomBytes(6).toString('base64url')), address, {
      rooms: this.rooms,
      tokens: this.tokens,
      rateLimit: this.options.rateLimit,
      maxBufferedBytes: slowReaderBound(this.options.maxPayload),
      logLimiter: this.logLimiter,
      log: this.log,
      metrics: this.serverMetrics,
      awayGraceMs: this.options.awayGraceMs,
      iceServersFor: this.iceServersFor,
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
    // A beat that comes much later than due means this process stalled (GC, an overloaded
    // machine): the pongs may be sitting unread in the sockets. Judge nobody on that beat;
    // ping again and judge at the next one.
    const now = performance.now();
    const sinceLast = now - this.lastBeat;
    const stalled = sinceLast > this.options.pingIntervalMs * 1.5;
    this.lastBeat = now;
    if (stalled) this.log.warn({ lateMs: Math.round(sinceLast - this.options.pingIntervalMs) }, 'heartbeat late: this process stalled');
    for (const connection of this.connections) {
      if (!connection.alive && !stalled) {
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
    await this.started;
    if (this.store.shared) {
      // Other nodes carry on: hold every seat first, so its peer hears peer-disconnected and then,
      // once the client resumes elsewhere, peer-reconnected.
      await Promise.all([...this.connections].map((connection) => connection.holdSeat()));
    }
    // Seats of a lone node die with the process; stopping the grace timers first keeps closes
    // from starting new ones.
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
    await this.store.close();
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
