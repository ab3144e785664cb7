/**
 * One client socket: parses and validates its frames once, enforces its rate and abuse limits,
 * and turns its messages into room operations. Messages are handled strictly in order; a `join`
 * that waits for token verification holds back the messages behind it.
 */
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import {
  CloseCode,
  parseClientMessage,
  parseFrame,
  type ClientMessage,
  type ClientMessageType,
  type ErrorCode,
  type JoinMessage,
  type ServerMessage,
} from '../sdk/protocol.js';
import type { JoinTokenVerifier } from './join-tokens.js';
import { SlidingWindowCounter, TokenBucket, monotonicClock } from './rate-limiter.js';
import type { LogLimiter } from './log-limiter.js';
import type { ServerMetrics } from './metrics.js';
import { now, type JoinFailure, type PeerLink, type RoomDirectory, type SeatHandle } from './rooms.js';

/** Within this window, more than this many invalid messages close the socket (1008). */
export const INVALID_WINDOW_MS = 10_000;
export const MAX_INVALID_IN_WINDOW = 20;
/** Within this window, this many messages dropped by the rate limit close the socket (1008). */
export const RATE_DROP_WINDOW_MS = 10_000;
export const MAX_RATE_DROPS_IN_WINDOW = 100;
/** How long a close we start waits for the client's close frame before the socket is cut. */
export const CLOSE_HANDSHAKE_MS = 1_000;
/** `rate-limited` is answered at most once per this period. */
export const RATE_LIMITED_NOTICE_MS = 1_000;

const ERROR_TEXT: Record<ErrorCode, string> = {
  'invalid-message': 'the message is not valid',
  'already-joined': 'this socket already holds a seat',
  'room-full': 'the room already has two people',
  'not-in-room': 'join a room first',
  'peer-absent': 'nobody is there to receive the signal',
  'invalid-resume': 'the resume value is not valid (any more); join afresh',
  unauthorized: 'the join token is missing or not valid',
  'rate-limited': 'too many messages; slow down',
  'server-busy': 'the server is at capacity; try again shortly',
  'session-replaced': 'this seat was taken back by another connection',
  'server-shutdown': 'the server is shutting down; reconnect with your resume value',
};

export interface ConnectionContext {
  rooms: RoomDirectory;
  tokens: JoinTokenVerifier | undefined;
  rateLimit: number;
  /** A peer that leaves more than this unread in its socket is cut off (as a drop). */
  maxBufferedBytes: number;
  log: Logger;
  metrics: ServerMetrics;
  /** Keeps lines that a client can trigger at will from flooding the log. */
  logLimiter: LogLimiter;
}

export class Connection implements PeerLink {
  /** Cleared by the heartbeat before each ping, set again by the pong. */
  alive = true;
  private seat: SeatHandle | undefined;
  private closing = false;
  private backlog: Promise<void> = Promise.resolve();
  private readonly bucket: TokenBucket;
  private readonly rateDrops = new SlidingWindowCounter(RATE_DROP_WINDOW_MS);
  private readonly invalids = new SlidingWindowCounter(INVALID_WINDOW_MS);
  private lastRateNotice = -Infinity;

  constructor(
    readonly socket: WebSocket,
    /** `<nodeId>/<connectionId>`: names this socket across nodes. */
    readonly id: string,
    readonly address: string,
    private readonly context: ConnectionContext,
  ) {
    this.bucket = new TokenBucket(context.rateLimit, context.rateLimit * 2);
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('pong', () => (this.alive = true));
  }

  get seated(): boolean {
    return this.seat !== undefined;
  }

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  /** Sends a server message already serialized (a relayed signal is built as text once). */
  sendText(text: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > this.context.maxBufferedBytes) {
      // It does not read what we send: buffering on its behalf would let one slow peer eat the
      // server's memory. Cut it off like a dead socket; its seat is held and its queue bounded.
      this.context.log.warn({ conn: this.id, buffered: this.socket.bufferedAmount }, 'peer does not read; terminating');
      this.detachSeat();
      this.closing = true;
      this.socket.terminate();
      return;
    }
    this.socket.send(text);
  }

  replace(): void {
    // The seat now belongs to the newer socket: forget it before closing, so it is not dropped.
    this.seat = undefined;
    this.sendError('session-replaced');
    this.close(CloseCode.sessionReplaced, 'session replaced');
  }

  /** The socket is gone: hold its seat for the grace period (unless it was freed by `leave`). */
  handleClose(code: number): void {
    this.closing = true;
    const room = this.seat?.room;
    this.detachSeat();
    this.context.log.info({ conn: this.id, code, room }, 'connection closed');
  }

  /** Holds this socket's seat now (before a graceful stop of a node whose seats others take over). */
  async holdSeat(): Promise<void> {
    const seat = this.seat;
    this.seat = undefined;
    if (seat !== undefined) await this.context.rooms.drop(this, seat).catch(() => undefined);
  }

  /** Graceful shutdown of the server. */
  shutdown(): void {
    this.sendError('server-shutdown');
    this.closing = true;
    this.socket.close(CloseCode.goingAway, 'server shutting down');
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closing) return;
    // The rate is measured on arrival; everything else waits its turn so that replies come
    // back in the order of the messages that caused them.
    const overRate = !this.bucket.take();
    const receivedAt = now();
    this.backlog = this.backlog
      .then(() => {
        if (this.closing) return undefined;
        return overRate ? this.overRate() : this.process(data, isBinary, receivedAt);
      })
      .catch((error: unknown) => this.context.log.error({ conn: this.id, err: String(error) }, 'message handler failed'));
  }

  private process(data: WebSocket.RawData, isBinary: boolean, receivedAt: number): Promise<void> | void {
    if (isBinary) return this.invalid('frames must be text, not binary');
    const frame = parseFrame(rawToString(data));
    if (!frame.ok) return this.invalid(frame.reason);
    const parsed = parseClientMessage(frame.value);
    if (!parsed.ok) return this.invalid(parsed.reason, parsed.ref);
    return this.handle(parsed.message, receivedAt);
  }

  private async handle(message: ClientMessage, receivedAt: number): Promise<void> {
    switch (message.type) {
      case 'join':
        return this.join(message);
      case 'signal': {
        if (this.seat === undefined) return this.sendError('not-in-room', 'signal');
        const refused = await this.context.rooms.signal(this, this.seat, message.data, receivedAt);
        if (refused === undefined) this.context.metrics.signalsRelayed.inc();
        else this.sendError(refused.code, 'signal', undefined, 'retryAfterMs' in refused ? refused.retryAfterMs : undefined);
        return;
      }
      case 'leave': {
        if (this.seat === undefined) return this.sendError('not-in-room', 'leave');
        const seat = this.seat;
        this.seat = undefined;
        await this.context.rooms.leave(this, seat);
        this.context.log.info({ conn: this.id, room: seat.room, peerId: seat.peerId }, 'left');
        return;
      }
      case 'ping':
        return this.send({ type: 'pong' });
      default:
        return assertNever(message);
    }
  }

  private async join(message: JoinMessage): Promise<void> {
    if (this.seat !== undefined) {
      this.context.metrics.joins.inc({ result: 'already-joined' });
      return this.sendError('already-joined', 'join');
    }
    const { rooms, tokens, log } = this.context;
    let result;
    if (message.resume !== undefined) {
      result = await rooms.resume(this, message.room, message.resume);
    } else {
      if (tokens !== undefined) {
        const check = await tokens.verify(message.token, message.room);
        if (this.closing) return;
        if (!check.ok) {
          this.context.metrics.joins.inc({ result: 'unauthorized' });
          return this.sendError('unauthorized', 'join', check.reason);
        }
      }
      result = await rooms.join(this, message.room, this.address);
    }
    if (!result.ok) {
      this.context.metrics.joins.inc({ result: result.code });
      return this.refuseJoin(result);
    }
    this.context.metrics.joins.inc({ result: message.resume === undefined ? 'joined' : 'resumed' });
    if (this.closing) {
      // The socket went away while the store answered: the seat it just got is held as for a drop.
      void this.context.rooms.drop(this, result.seat).catch(() => undefined);
      return;
    }
    this.seat = result.seat;
    log.info({ conn: this.id, room: result.seat.room, peerId: result.seat.peerId, resumed: message.resume !== undefined }, 'joined');
  }

  private refuseJoin(failure: JoinFailure): void {
    const retryAfterMs = 'retryAfterMs' in failure ? failure.retryAfterMs : undefined;
    this.sendError(failure.code, 'join', undefined, retryAfterMs);
  }

  private overRate(): void {
    if (this.rateDrops.hit() >= MAX_RATE_DROPS_IN_WINDOW) {
      this.context.log.warn({ conn: this.id, address: this.address }, 'closing a socket that keeps exceeding the rate limit');
      this.close(CloseCode.policyViolation, 'rate limit exceeded');
      return;
    }
    const now = monotonicClock();
    if (now - this.lastRateNotice < RATE_LIMITED_NOTICE_MS) return;
    this.lastRateNotice = now;
    this.sendError('rate-limited', undefined, undefined, Math.max(1, this.bucket.msUntilNext()));
  }

  private invalid(reason: string, ref?: ClientMessageType): void {
    this.sendError('invalid-message', ref, reason);
    if (this.invalids.hit() > MAX_INVALID_IN_WINDOW) {
      this.context.log.warn({ conn: this.id, address: this.address }, 'closing a socket that keeps sending invalid messages');
      this.close(CloseCode.policyViolation, 'too many invalid messages');
    }
  }

  private sendError(code: ErrorCode, ref?: ClientMessageType, message = ERROR_TEXT[code], retryAfterMs?: number): void {
    const { log, logLimiter, metrics } = this.context;
    metrics.errorsSent.inc({ code });
    if (logLimiter.allow(`error sent: ${code}`, (kind, count) => log.warn({ kind, count }, 'log lines left out'))) {
      log.info({ conn: this.id, code, ref }, 'error sent');
    }
    this.send({
      type: 'error',
      code,
      message,
      ...(ref === undefined ? {} : { ref }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }

  /**
   * Closes from our side. The seat is held at once, as for a drop: a peer that does not answer
   * the close frame would otherwise keep a "live" seat whose signals go nowhere until TCP dies.
   */
  private close(code: number, reason: string): void {
    this.closing = true;
    this.detachSeat();
    this.socket.close(code, reason);
    // A client that never answers the close frame would hold its address's slot for ws's 30 s
    // close timeout; one second is enough for a well-behaved one.
    const cutOff = setTimeout(() => this.socket.terminate(), CLOSE_HANDSHAKE_MS);
    cutOff.unref();
    this.socket.once('close', () => clearTimeout(cutOff));
  }

  private detachSeat(): void {
    const seat = this.seat;
    this.seat = undefined;
    if (seat === undefined) return;
    this.context.rooms.drop(this, seat).catch((error: unknown) =>
      this.context.log.error({ conn: this.id, room: seat.room, err: String(error) }, 'could not hold the seat'));
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function assertNever(value: never): never {
  throw new Error(`unhandled message ${JSON.stringify(value)}`);
}
