/**
 * The signaling client: one WebSocket to the server, kept alive and taken back after a drop.
 *
 * - Speaks `p2p-call.v1`; every frame from the server is validated by protocol.ts.
 * - Detects a dead socket with app-level ping/pong, reconnects with exponential backoff and
 *   jitter, and takes its seat back with the `resume` value (kept in sessionStorage per room,
 *   so a page reload resumes the same seat instead of meeting `room-full`).
 * - Queues outgoing signals while reconnecting and flushes them in order after `joined`.
 */
import { assertNever } from './assert-never.js';
import { CallError } from './errors.js';
import { Emitter } from './emitter.js';
import type { HealthFetch, ResumeStorage, SignalingSocket, SocketConstructor } from './socket-types.js';
import {
  CloseCode,
  HEALTH_PATH,
  PROTOCOL_V1,
  ROOM_ID_PATTERN,
  SIGNALING_PATH,
  parseFrame,
  parseServerMessage,
  type ClientMessage,
  type IceServer,
  type JoinedMessage,
  type PeerLeftReason,
  type SignalData,
} from './protocol.js';

export type SignalingState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'closed';

export interface ReconnectOptions {
  /** First delay before reconnecting, in milliseconds. */
  initialDelayMs?: number;
  /** Upper bound of one delay. */
  maxDelayMs?: number;
  /** Growth of the delay per failed attempt. */
  factor?: number;
  /** Fraction of each delay that is randomised (0–1), so clients of a restarted server spread out. */
  jitter?: number;
  /** Attempts before giving up with `server-unreachable`. */
  maxAttempts?: number;
}

export type { ResumeStorage } from './socket-types.js';

export interface SignalingClientOptions {
  /** `ws:`/`wss:` URL of the server's WebSocket endpoint, e.g. `wss://calls.example.com/ws`. */
  url: string;
  room: string;
  /** Join token (JWT) when the server requires one. */
  token?: string;
  /** Period of the app-level ping. */
  pingIntervalMs?: number;
  /** A socket whose pong does not arrive within this time is treated as dead. */
  pongTimeoutMs?: number;
  /** How long the first connection may take to reach `joined`. */
  connectTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  /** Where the resume value survives a page reload; `null` keeps it in memory only. */
  storage?: ResumeStorage | null;
  /** A WebSocket implementation (for Node: `ws`); defaults to the global one. */
  WebSocket?: SocketConstructor;
  /** Used to diagnose a refused handshake via `/healthz`; defaults to the global one. */
  fetch?: HealthFetch;
  /** At most this many outgoing signals wait while reconnecting; the oldest are dropped past it. */
  maxQueuedSignals?: number;
  /**
   * Asked when `maxAttempts` is used up: while it returns true (e.g. the call's media still
   * flows peer to peer) the client keeps trying every `maxDelayMs` instead of giving up, and
   * reports a non-fatal `server-unreachable` once.
   */
  keepTrying?: () => boolean;
}

export interface SignalingEvents {
  state: { state: SignalingState; previous: SignalingState };
  /** A seat was granted: `resumed` when it is the same seat taken back. */
  joined: { message: JoinedMessage; resumed: boolean };
  'peer-joined': { peerId: string };
  'peer-left': { peerId: string; reason: PeerLeftReason };
  'peer-disconnected': { peerId: string };
  'peer-reconnected': { peerId: string };
  signal: { from: string; data: SignalData };
  /** Non-fatal problems (e.g. `peer-absent`, `rate-limited`) and, last, the fatal one. */
  error: CallError;
}

/**
 * Resume values held by live clients in this document. A stored value another client here is
 * using is not ours to take (two calls for one room in one page); after a reload the set is
 * empty again, so the reloaded page takes its seat back.
 */
const resumesInUse = new Set<string>();

const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 8_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: 12,
};

const DEFAULTS = {
  pingIntervalMs: 10_000,
  pongTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  maxQueuedSignals: 256,
};

export class SignalingClient extends Emitter<SignalingEvents> {
  private _state: SignalingState = 'idle';
  private socket: SignalingSocket | undefined;
  private resumeValue: string | undefined;
  private joinedMessage: JoinedMessage | undefined;
  /** Whether the socket in hand has ever reached `joined` in this client's life. */
  private everJoined = false;
  /** Whether this client held a seat before the current socket (so a fresh seat means a new session). */
  private hadSeatBefore = false;
  /** Whether the pending `join` carries a resume value (so its `joined` is the same seat). */
  private joinSentResume = false;
  private attempts = 0;
  /** The least wait before the next reconnect, as a `server-busy` answer asked. */
  private retryAfterMs = 0;
  private queue: SignalData[] = [];
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private seatTimer: ReturnType<typeof setTimeout> | undefined;
  private connecting: Promise<JoinedMessage> | undefined;
  /** Whether a `join` went out on the current socket (so `leave` must follow it even before `joined`). */
  private joinSent = false;
  /** The non-fatal "still unreachable" was reported for this outage. */
  private reportedUnreachable = false;
  /** Pending `requestIceServers()` calls, answered in order by `ice-servers` (or given up). */
  private readonly iceServersWaiters = new Set<(servers: IceServer[] | undefined) => void>();
  private connectWaiter: { resolve(message: JoinedMessage): void; reject(error: CallError): void } | undefined;
  private readonly options: Required<Omit<SignalingClientOptions, 'token' | 'reconnect' | 'storage' | 'WebSocket' | 'fetch' | 'keepTrying'>> & {
    keepTrying: (() => boolean) | undefined;
    token: string | undefined;
    reconnect: Required<ReconnectOptions>;
    storage: ResumeStorage | null;
    WebSocket: SocketConstructor;
    fetch: HealthFetch | undefined;
  };

  constructor(options: SignalingClientOptions) {
    super();
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    if (WebSocketImpl === undefined) throw new TypeError('SignalingClient: no WebSocket implementation; pass options.WebSocket');
    this.options = {
      ...DEFAULTS,
      ...definedOnly(options),
      url: options.url,
      room: options.room,
      token: options.token,
      keepTrying: options.keepTrying,
      reconnect: { ...DEFAULT_RECONNECT, ...definedOnly(options.reconnect ?? {}) },
      storage: options.storage === undefined ? defaultStorage() : options.storage,
      WebSocket: WebSocketImpl,
      fetch: options.fetch ?? globalThis.fetch?.bind(globalThis),
    };
    this.resumeValue = this.readStoredResume();
  }

  get state(): SignalingState {
    return this._state;
  }

  /** The latest `joined` (peerId, polite, iceServers…), once seated. */
  get joined(): JoinedMessage | undefined {
    return this.joinedMessage;
  }

  /** Connects and takes a seat; resolves with the first `joined`, rejects with a fatal {@link CallError}. */
  connect(): Promise<JoinedMessage> {
    if (this._state === 'joined' && this.joinedMessage) return Promise.resolve(this.joinedMessage);
    if (this._state === 'closed') return Promise.reject(new CallError('not-joined', 'this client was closed; create a new one'));
    if (this.connecting) return this.connecting;
    if (!ROOM_ID_PATTERN.test(this.options.room)) {
      // Refused here rather than by the server, so the caller hears why at once.
      const error = new CallError('invalid-room', `room "${this.options.room}" must be 1-64 of A-Z a-z 0-9 _ -`);
      this.fail(error);
      return Promise.reject(error);
    }
    this.connecting = new Promise<JoinedMessage>((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      if (this._state === 'idle') {
        this.setState('connecting');
        this.openSocket();
        this.later(() => {
          if (!this.everJoined) this.fail(new CallError('timeout', 'the signaling server did not seat us in time'));
        }, this.options.connectTimeoutMs);
      }
    });
    // Settled once: a later connect() (after a fatal error the client is closed anyway) starts over.
    const clear = () => {
      this.connecting = undefined;
    };
    this.connecting.then(clear, clear);
    return this.connecting;
  }

  /** Relays `data` to the other peer; queued while reconnecting and sent in order after `joined`. */
  send(data: SignalData): void {
    if (this._state === 'closed') return;
    if (this._state === 'joined' && this.socket?.readyState === 1) {
      this.write({ type: 'signal', data });
      return;
    }
    this.queue.push(data);
    if (this.queue.length > this.options.maxQueuedSignals) this.queue.shift();
  }

  /** Hangs up: frees the seat at once (the other side hears `peer-left` `hangup`) and closes. */
  leave(): void {
    if (this._state === 'closed') return;
    // Also when our join is still in flight: the server handles frames in order, so this frees
    // the seat it is about to grant (a `not-in-room` answer is harmless).
    if (this._state === 'joined' || this.joinSent) this.write({ type: 'leave' });
    this.forgetResume();
    this.shutdown(CloseCode.normal);
  }

  /**
   * The page is going away without hanging up (`pagehide`): says `away`, so the server holds the
   * seat only for its short away grace, and closes. The resume value is kept: a reload takes the
   * seat back; a closed tab becomes `peer-left` `timeout` on the other side within seconds.
   */
  away(): void {
    if (this._state === 'closed') return;
    if (this._state === 'joined') this.write({ type: 'away' });
    this.shutdown(CloseCode.normal);
  }

  /**
   * Asks the server over the open socket for freshly minted `iceServers` (new TURN credentials).
   * Resolves with them, or with `undefined` when not seated, on an older server (which refuses
   * the request) or after `timeoutMs`.
   */
  requestIceServers(timeoutMs = 3_000): Promise<IceServer[] | undefined> {
    if (this._state !== 'joined' || this.socket?.readyState !== 1) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (servers: IceServer[] | undefined) => {
        clearTimeout(timer);
        this.iceServersWaiters.delete(waiter);
        resolve(servers);
      };
      const timer = setTimeout(() => waiter(undefined), timeoutMs);
      this.iceServersWaiters.add(waiter);
      this.write({ type: 'ice-servers' });
    });
  }

  /** Closes without `leave`: the server holds the seat for its grace period (e.g. page unload). */
  close(): void {
    if (this._state === 'closed') return;
    this.shutdown(CloseCode.normal);
  }

  /** Test hook and recovery aid: treat the current socket as dead now and reconnect. */
  reconnectNow(): void {
    if (this._state === 'joined' || this._state === 'connecting') this.dropSocket();
  }

  private openSocket(): void {
    const { WebSocket: WebSocketImpl, url } = this.options;
    let socket: SignalingSocket;
    try {
      socket = new WebSocketImpl(url, PROTOCOL_V1);
    } catch (error) {
      this.fail(new CallError('server-unreachable', `invalid signaling URL ${url}`, { cause: error }));
      return;
    }
    this.socket = socket;
    this.joinSent = false;
    let opened = false;
    // A socket that never opens (a blackholed SYN) or opens but never seats us is as good as
    // dead: give up on it and try the next one.
    clearTimeout(this.seatTimer);
    this.seatTimer = setTimeout(() => this.dropSocket(), this.options.connectTimeoutMs);
    socket.onopen = () => {
      opened = true;
      this.joinSent = true;
      this.joinSentResume = this.resumeValue !== undefined;
      this.write({
        type: 'join',
        room: this.options.room,
        ...(this.resumeValue !== undefined ? { resume: this.resumeValue } : {}),
        ...(this.resumeValue === undefined && this.options.token !== undefined ? { token: this.options.token } : {}),
      });
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.socketClosed(event.code, opened);
    };
    socket.onerror = () => {
      // The close event that follows carries what we act on.
    };
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'string') return;
    const frame = parseFrame(raw);
    const parsed = frame.ok ? parseServerMessage(frame.value) : frame;
    if (!parsed.ok) return; // A newer server may add types; nothing else sends us frames.
    const message = parsed.message;
    this.armPongTimer(false);
    switch (message.type) {
      case 'joined':
        return this.seated(message);
      case 'peer-joined':
      case 'peer-disconnected':
      case 'peer-reconnected':
        return this.emit(message.type, { peerId: message.peerId });
      case 'peer-left':
        return this.emit('peer-left', { peerId: message.peerId, reason: message.reason });
      case 'signal':
        return this.emit('signal', { from: message.from, data: message.data });
      case 'pong':
        return;
      case 'ice-servers': {
        const [first] = this.iceServersWaiters;
        first?.(message.iceServers);
        return;
      }
      case 'error':
        return this.serverError(message.code, message.message, message.retryAfterMs, message.ref);
      default:
        return assertNever(message);
    }
  }

  private seated(message: JoinedMessage): void {
    clearTimeout(this.seatTimer);
    this.reportedUnreachable = false;
    const resumed = this.joinSentResume;
    this.joinedMessage = message;
    this.everJoined = true;
    this.attempts = 0;
    this.storeResume(message.resume);
    // Signals queued for a seat we no longer hold belong to the old session: drop them.
    const queued = resumed || !this.hadSeatBefore ? this.queue : [];
    this.queue = [];
    this.hadSeatBefore = true;
    this.joinSentResume = false;
    this.setState('joined');
    this.startPing();
    for (const data of queued) this.write({ type: 'signal', data });
    this.emit('joined', { message, resumed });
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.resolve(message);
  }

  private serverError(code: string, text: string, retryAfterMs: number | undefined, ref: string | undefined): void {
    if (ref === 'ice-servers' || (code === 'invalid-message' && ref === undefined && this.iceServersWaiters.size > 0)) {
      // Not seated any more, or a server older than the request: the caller goes on without.
      const [first] = this.iceServersWaiters;
      first?.(undefined);
      return;
    }
    switch (code) {
      case 'invalid-resume':
        // The seat is gone (grace over, server restarted): join afresh, with the token.
        this.forgetResume();
        this.joinSentResume = false;
        this.write({ type: 'join', room: this.options.room, ...(this.options.token !== undefined ? { token: this.options.token } : {}) });
        return;
      case 'server-busy':
        if (this._state !== 'joined' && this.hadSeatBefore) {
          // Taking our seat back failed for now (e.g. the server's store is unreachable): the
          // call's media may still flow, so try again after the time the server asked for.
          this.retryAfterMs = retryAfterMs ?? 0;
          this.dropSocket();
          return;
        }
        if (this.refusedJoin(code, text, retryAfterMs)) return;
        break;
      case 'room-full':
      case 'unauthorized':
        if (this.refusedJoin(code, text, retryAfterMs)) return;
        break;
      case 'session-replaced':
        this.fail(new CallError(code, 'the call continued in another tab or window'));
        return;
      case 'server-shutdown':
        return; // Close 1001 follows; we reconnect then.
      case 'already-joined':
      case 'peer-absent': // the other side left or is not there yet: ordinary churn
      case 'not-in-room': // the answer to a leave that overtook our seat
        return;
    }
    this.emit('error', new CallError(code, text, { fatal: false, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }));
  }

  /** A refusal of our join (not of a later message) is fatal; true if it was one. */
  private refusedJoin(code: string, text: string, retryAfterMs: number | undefined): boolean {
    if (this._state === 'joined') return false;
    this.fail(new CallError(code, text, retryAfterMs === undefined ? {} : { retryAfterMs }));
    return true;
  }

  private socketClosed(code: number, opened: boolean): void {
    clearTimeout(this.seatTimer);
    this.socket = undefined;
    this.stopPing();
    for (const waiter of [...this.iceServersWaiters]) waiter(undefined);
    if (this._state === 'closed') return;
    if (code === CloseCode.sessionReplaced) {
      this.fail(new CallError('session-replaced', 'the call continued in another tab or window'));
    } else if (code === CloseCode.policyViolation || code === CloseCode.messageTooBig) {
      this.fail(new CallError('server-closed', `the server closed the connection (${code}): a bug to report`));
    } else if (code === CloseCode.normal) {
      // PROTOCOL.md: a normal close is final; the server (or a proxy) is done with this socket.
      this.fail(new CallError('server-closed', 'the server ended the connection'));
    } else if (!opened && !this.everJoined) {
      void this.diagnoseRefusal();
    } else {
      this.scheduleReconnect();
    }
  }

  /** Browsers hide why a handshake failed; `/healthz` tells an unreachable server from a version mismatch. */
  private async diagnoseRefusal(): Promise<void> {
    const healthUrl = healthUrlFor(this.options.url);
    let protocols: unknown;
    try {
      const response = await this.options.fetch?.(healthUrl, { cache: 'no-store' });
      protocols = response?.ok ? ((await response.json()) as { protocols?: unknown }).protocols : undefined;
    } catch {
      protocols = undefined;
    }
    if (this._state === 'closed') return;
    if (Array.isArray(protocols) && !protocols.includes(PROTOCOL_V1)) {
      this.fail(new CallError('unsupported-protocol', `the server speaks ${protocols.join(', ')}, this client ${PROTOCOL_V1}`));
    } else if (Array.isArray(protocols)) {
      this.fail(new CallError('server-unreachable', 'the server refused the connection (origin not allowed or at capacity)'));
    } else {
      this.fail(new CallError('server-unreachable', `cannot reach the call server at ${this.options.url}`));
    }
  }

  private scheduleReconnect(): void {
    const { initialDelayMs, maxDelayMs, factor, jitter, maxAttempts } = this.options.reconnect;
    let base = Math.min(maxDelayMs, initialDelayMs * factor ** this.attempts);
    if (this.attempts >= maxAttempts) {
      const text = `lost the call server and could not reconnect after ${maxAttempts} attempts`;
      if (!this.options.keepTrying?.()) {
        this.fail(new CallError('server-unreachable', text));
        return;
      }
      if (!this.reportedUnreachable) {
        this.reportedUnreachable = true;
        this.emit('error', new CallError('server-unreachable', `${text}; media still flows, still trying`, { fatal: false }));
      }
      base = maxDelayMs;
    }
    this.setState('reconnecting');
    const delay = Math.max(base * (1 - jitter * Math.random()), this.retryAfterMs);
    this.retryAfterMs = 0;
    this.attempts++;
    this.later(() => {
      if (this._state === 'reconnecting') this.openSocket();
    }, delay);
  }

  /** Forgets the current socket without waiting for its close (a dead TCP path may never close). */
  private dropSocket(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close();
    } catch {
      // Already closing.
    }
    this.socketClosed(1006, true);
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      this.write({ type: 'ping' });
      this.armPongTimer(true);
    }, this.options.pingIntervalMs);
  }

  /** Armed when a ping goes out; any frame from the server proves the socket alive and disarms it. */
  private armPongTimer(arm: boolean): void {
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.pongTimer = arm ? setTimeout(() => this.dropSocket(), this.options.pongTimeoutMs) : undefined;
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.armPongTimer(false);
  }

  private write(message: ClientMessage): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  private fail(error: CallError): void {
    if (this._state === 'closed') return;
    // Settle connect() first: listeners of 'error' may close this client.
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.reject(error);
    this.emit('error', error);
    if (error.code === 'session-replaced' || error.code === 'room-full' || error.code === 'unauthorized') this.forgetResume();
    this.shutdown(CloseCode.normal);
  }

  private shutdown(code: number): void {
    const socket = this.socket;
    this.socket = undefined;
    this.stopPing();
    clearTimeout(this.seatTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue = [];
    for (const waiter of [...this.iceServersWaiters]) waiter(undefined);
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(code);
      } catch {
        // Already closed.
      }
    }
    if (this.resumeValue !== undefined) resumesInUse.delete(this.resumeValue);
    this.setState('closed');
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.reject(new CallError('not-joined', 'the signaling client was closed'));
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private setState(next: SignalingState): void {
    const previous = this._state;
    if (previous === next) return;
    this._state = next;
    this.emit('state', { state: next, previous });
  }

  private get storageKey(): string {
    return resumeKey(this.options.url, this.options.room);
  }

  /**
   * Whether `storage` (sessionStorage by default) holds a seat for `room` on `url` that no live
   * client in this document uses: after a page reload mid-call, the seat the server holds for us.
   */
  static hasStoredSeat(url: string, room: string, storage: ResumeStorage | null = defaultStorage()): boolean {
    try {
      const stored = storage?.getItem(resumeKey(url, room));
      return typeof stored === 'string' && !resumesInUse.has(stored);
    } catch {
      return false;
    }
  }

  private readStoredResume(): string | undefined {
    let stored: string | undefined;
    try {
      stored = this.options.storage?.getItem(this.storageKey) ?? undefined;
    } catch {
      return undefined; // Storage can throw in sandboxed iframes.
    }
    if (stored === undefined || resumesInUse.has(stored)) return undefined;
    resumesInUse.add(stored);
    return stored;
  }

  private storeResume(value: string): void {
    if (this.resumeValue !== undefined) resumesInUse.delete(this.resumeValue);
    resumesInUse.add(value);
    this.resumeValue = value;
    try {
      this.options.storage?.setItem(this.storageKey, value);
    } catch {
      // Memory only, then.
    }
  }

  private forgetResume(): void {
    if (this.resumeValue !== undefined) resumesInUse.delete(this.resumeValue);
    this.resumeValue = undefined;
    try {
      this.options.storage?.removeItem(this.storageKey);
    } catch {
      // Nothing stored.
    }
  }
}

function resumeKey(url: string, room: string): string {
  return `p2p-call:resume:${url}#${room}`;
}

/** `ws://host/ws` → `http://host/healthz` (and wss → https). */
export function healthUrlFor(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.endsWith(SIGNALING_PATH) ? url.pathname.slice(0, -SIGNALING_PATH.length) + HEALTH_PATH : HEALTH_PATH;
  url.search = '';
  return url.toString();
}

function defaultStorage(): ResumeStorage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
