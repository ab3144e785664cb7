/**
 * The seat policy: rooms of at most two seats, who may sit where, politeness, the grace period
 * after a drop, single-use resume values, the queue limit for a held seat, and what each side
 * is told. It is the only place that decides; where the seats live is a {@link RoomStore}'s job
 * (in memory, or in Redis shared by several nodes).
 *
 * Every change is read → decide → compare-and-set on the room's version, retried on conflict,
 * so it holds however many nodes act on one room at once. Messages that a change causes ride
 * with its write, so the store delivers them in the order the room changed.
 */
import { randomBytes } from 'node:crypto';
import {
  MAX_QUEUED_SIGNALS,
  type IceServer,
  type JoinedMessage,
  type ServerMessage,
  type SignalData,
} from '../sdk/protocol.js';
import {
  StoreUnavailableError,
  nodeOfLink,
  type Delivery,
  type RoomState,
  type RoomStore,
  type SeatRecord,
  type WriteResult,
} from './room-store.js';

/** The live end of a seat on this node: one WebSocket connection. */
export interface PeerLink {
  /** `<nodeId>/<connectionId>`: unique across nodes. */
  readonly id: string;
  /** The client's address, for the limits per address. */
  readonly address: string;
  send(message: ServerMessage): void;
  /** Sends a server message that is already serialized. */
  sendText(text: string): void;
  /** The seat was taken back from another socket: tell this one and close it (4001). */
  replace(): void;
}

/** What a connection holds while it is seated. */
export interface SeatHandle {
  readonly room: string;
  readonly peerId: string;
}

export type JoinFailure =
  | { ok: false; code: 'room-full'; retryAfterMs?: number }
  | { ok: false; code: 'server-busy'; retryAfterMs: number }
  | { ok: false; code: 'invalid-resume' };
export type JoinResult = { ok: true; seat: SeatHandle } | JoinFailure;
export type SignalRefusal = { code: 'peer-absent' } | { code: 'server-busy'; retryAfterMs: number };

export interface RoomDirectory {
  /** Takes a free seat in `room` and sends `joined` to `link`; `address` counts against its seat limit. */
  join(link: PeerLink, room: string, address: string): Promise<JoinResult>;
  /** Takes back the seat that `resume` was issued for, and sends `joined` to `link`. */
  resume(link: PeerLink, room: string, resume: string): Promise<JoinResult>;
  /** Relays to the other seat; says why when it could not. */
  signal(link: PeerLink, seat: SeatHandle, data: SignalData, receivedAt: number): Promise<SignalRefusal | undefined>;
  /** Explicit hangup: frees the seat at once. */
  leave(link: PeerLink, seat: SeatHandle): Promise<void>;
  /**
   * The seat's socket is gone without `leave`: hold the seat for the grace period, or for
   * `graceMs` when that is shorter (the page said it is going away: `away`).
   */
  drop(link: PeerLink, seat: SeatHandle, graceMs?: number): Promise<void>;
  /** Rooms where this node holds a seat, live or held. */
  readonly roomCount: number;
  /** Held seats this node dropped whose grace is running. */
  readonly heldSeatCount: number;
  /** Stops timers; the store is closed by its owner. */
  close(): void;
}

export interface RoomOptions {
  store: RoomStore;
  graceMs: number;
  maxRooms: number;
  /**
   * Seats, live or held, one client address may hold. Without it one address could fill every
   * room by joining and dropping (held seats outlive their sockets by the grace period).
   */
  maxSeatsPerAddress: number;
  /** Bytes of signals queued for one held seat. */
  maxQueuedBytesPerSeat: number;
  /**
   * Bytes of signals one address may have queued for held seats through this node. A queued
   * signal lives at most one grace period (its seat's grace had started), so counting what an
   * address queued within the last grace period bounds what it can pin.
   */
  maxQueuedBytesPerAddress: number;
  /** The `iceServers` to put in a seat's `joined`. */
  iceServersFor(peerId: string): IceServer[];
  /** Called when a seat's grace period ends without a resume. */
  onSeatExpired?(seat: SeatHandle): void;
  /** Called with the seconds a signal took from its arrival (on any node) to its receiver's socket. */
  onRelayed?(seconds: number): void;
}

/** How long to tell a client to wait when the server has no room for another room. */
export const SERVER_BUSY_RETRY_MS = 5_000;
/** How long to tell a client to wait while the store is unreachable. */
export const STORE_BUSY_RETRY_MS = 2_000;
/** Compare-and-set attempts before a join gives up under contention (each loser re-reads). */
const MAX_ATTEMPTS = 32;
/** A grace timer may fire a moment before the deadline by the wall clock. */
const DEADLINE_TOLERANCE_MS = 20;

/** A socket of this node: its seat, and messages that arrived before its `joined` went out. */
interface LocalLink {
  link: PeerLink;
  /** Messages for this socket held back until its `joined` is sent; `null` once it is. */
  early: Array<ServerMessage | string> | null;
  seat: SeatRecord | undefined;
  room: string | undefined;
}

const seatKey = (room: string, peerId: string) => `${room}\n${peerId}`;

export class Rooms implements RoomDirectory {
  private readonly store: RoomStore;
  private readonly links = new Map<string, LocalLink>();
  /** Seats this node dropped, until their grace ends: they still count as this node's rooms. */
  private readonly held = new Map<string, { room: string; heldUntil: number }>();
  /** Seats whose `drop` or `leave` could not reach the store: done when it is back. */
  private readonly unfinished = new Map<string, { room: string; peerId: string; link: string; leave: boolean }>();
  private readonly queuedBytes = new Map<string, QueuedBytes>();
  private closed = false;

  constructor(private readonly options: RoomOptions) {
    this.store = options.store;
  }

  /** Starts the store's deliveries into this policy. */
  start(): Promise<void> {
    return this.store.start({
      deliver: (link, message, sentAt) => this.deliver(link, message, sentAt),
      expire: (room, peerId) => this.expire(room, peerId).catch(() => undefined),
      nodeLost: (room, peerId, node) => this.nodeLost(room, peerId, node).catch(() => undefined),
      recovered: () => void this.recover().catch(() => undefined),
    });
  }

  get roomCount(): number {
    return this.localRooms().size;
  }

  /** The rooms in which this node holds a seat, live or held. */
  localRooms(): Set<string> {
    const rooms = new Set<string>();
    for (const local of this.links.values()) if (local.room !== undefined) rooms.add(local.room);
    for (const { room } of this.liveHeld()) rooms.add(room);
    return rooms;
  }

  get heldSeatCount(): number {
    return this.liveHeld().length;
  }

  async join(link: PeerLink, room: string, address: string): Promise<JoinResult> {
    return this.guard(async () => {
      const peerId = randomId(12);
      if (!(await this.store.admitSeat(address, peerId, this.options.maxSeatsPerAddress))) {
        return { ok: false, code: 'server-busy', retryAfterMs: Math.max(1, this.options.graceMs) };
      }
      const local = this.register(link);
      let written = false;
      let attempted = false;
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const state = await this.store.read(room);
          if (state.seats.length === 0 && !(await this.store.admitRoom(room, this.options.maxRooms))) {
            return { ok: false, code: 'server-busy', retryAfterMs: SERVER_BUSY_RETRY_MS };
          }
          if (state.seats.length >= 2) return roomFull(state);
          const other = state.seats[0];
          const seat: SeatRecord = {
            peerId,
            // The first seat is polite; the second takes the opposite of whoever is there, so the
            // two seated peers always differ however often peers come and go.
            polite: other === undefined ? true : !other.polite,
            address,
            link: link.id,
            resume: randomId(24),
            heldUntil: 0,
          };
          const deliver: Delivery[] = other?.link ? [{ to: other.link, message: { type: 'peer-joined', peerId } }] : [];
          attempted = true;
          const result = await this.store.write(room, state.version, { seats: [...state.seats, seat], deliver });
          if (!result.committed) continue;
          written = true;
          this.seated(local, room, seat, other, result);
          return { ok: true, seat: { room, peerId } };
        }
        return { ok: false, code: 'server-busy', retryAfterMs: 100 };
      } catch (error) {
        // A write that timed out may still commit once the store answers again: free that seat then.
        if (attempted) this.unfinished.set(seatKey(room, peerId), { room, peerId, link: link.id, leave: true });
        throw error;
      } finally {
        if (!written) {
          this.links.delete(link.id);
          await this.store.releaseSeat(address, peerId).catch(() => undefined);
        }
      }
    });
  }

  async resume(link: PeerLink, room: string, resume: string): Promise<JoinResult> {
    return this.guard(async () => {
      const local = this.register(link);
      let written = false;
      let attempted: string | undefined;
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const state = await this.store.read(room);
          const seat = state.seats.find((candidate) => candidate.resume === resume);
          if (seat === undefined) return { ok: false, code: 'invalid-resume' };
          if (seat.link === '' && seat.heldUntil <= Date.now()) {
            // The grace ended but its timer has not run yet: the seat is gone all the same.
            await this.expire(room, seat.peerId);
            return { ok: false, code: 'invalid-resume' };
          }
          const other = state.seats.find((candidate) => candidate !== seat);
          const taken: SeatRecord = { ...seat, link: link.id, resume: randomId(24), heldUntil: 0 };
          const deliver: Delivery[] = [];
          if (seat.link !== '') deliver.push({ to: seat.link, message: sessionReplaced() });
          if (other?.link) deliver.push({ to: other.link, message: { type: 'peer-reconnected', peerId: seat.peerId } });
          const seats = state.seats.map((candidate) => (candidate === seat ? taken : candidate));
          attempted = seat.peerId;
          const result = await this.store.write(room, state.version, { seats, deliver, takeQueueOf: seat.peerId });
          if (!result.committed) continue;
          written = true;
          this.held.delete(seatKey(room, seat.peerId));
          this.seated(local, room, taken, other, result);
          return { ok: true, seat: { room, peerId: seat.peerId } };
        }
        return { ok: false, code: 'server-busy', retryAfterMs: 100 };
      } catch (error) {
        // A take-back that timed out may still commit later: then hold the seat again, as a drop.
        if (attempted !== undefined) this.unfinished.set(seatKey(room, attempted), { room, peerId: attempted, link: link.id, leave: false });
        throw error;
      } finally {
        if (!written) this.links.delete(link.id);
      }
    });
  }

  async signal(link: PeerLink, seat: SeatHandle, data: SignalData, receivedAt: number): Promise<SignalRefusal | undefined> {
    try {
      // Serialized once, here; every store and node passes this text on as it is.
      const frame = `{"type":"signal","from":${JSON.stringify(seat.peerId)},"data":${JSON.stringify(data)}}`;
      const queued = this.queuedBy(link.address);
      const limits = {
        count: MAX_QUEUED_SIGNALS,
        seatBytes: this.options.maxQueuedBytesPerSeat,
        senderBytes: Math.max(0, this.options.maxQueuedBytesPerAddress - queued.bytes),
      };
      const result = await this.store.relay(seat.room, seat.peerId, link.id, frame, limits, receivedAt);
      if (result === 'queued') queued.add(Buffer.byteLength(frame));
      else if (queued.empty) this.queuedBytes.delete(link.address);
      return result === 'delivered' || result === 'queued' ? undefined : { code: 'peer-absent' };
    } catch (error) {
      if (error instanceof StoreUnavailableError) return { code: 'server-busy', retryAfterMs: STORE_BUSY_RETRY_MS };
      throw error;
    }
  }

  async leave(link: PeerLink, seat: SeatHandle): Promise<void> {
    this.forget(link.id);
    await this.finish(seat.room, seat.peerId, link.id, true);
  }

  async drop(link: PeerLink, seat: SeatHandle, graceMs = this.options.graceMs): Promise<void> {
    this.forget(link.id);
    await this.finish(seat.room, seat.peerId, link.id, false, Math.min(graceMs, this.options.graceMs));
  }

  close(): void {
    this.closed = true;
    this.links.clear();
    this.held.clear();
    this.unfinished.clear();
  }

  // -------------------------------------------------------------------------------------------

  /** Runs a join or resume; an unreachable store is `server-busy`, never a hang or a crash. */
  private async guard(attempt: () => Promise<JoinResult>): Promise<JoinResult> {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof StoreUnavailableError) return { ok: false, code: 'server-busy', retryAfterMs: STORE_BUSY_RETRY_MS };
      throw error;
    }
  }

  private register(link: PeerLink): LocalLink {
    const local: LocalLink = { link, early: [], seat: undefined, room: undefined };
    this.links.set(link.id, local);
    return local;
  }

  /** After a committed join or resume: `joined`, what the seat missed, then what arrived meanwhile. */
  private seated(local: LocalLink, room: string, seat: SeatRecord, other: SeatRecord | undefined, result: WriteResult): void {
    local.seat = seat;
    local.room = room;
    const { link } = local;
    link.send(this.joinedMessage(room, seat, other));
    if (other !== undefined && other.link === '') link.send({ type: 'peer-disconnected', peerId: other.peerId });
    if (result.committed) for (const frame of result.queue) link.sendText(frame);
    const early = local.early ?? [];
    local.early = null;
    for (const message of early) this.deliverTo(local, message);
  }

  private joinedMessage(room: string, seat: SeatRecord, other: SeatRecord | undefined): JoinedMessage {
    return {
      type: 'joined',
      room,
      peerId: seat.peerId,
      peers: other ? [other.peerId] : [],
      polite: seat.polite,
      iceServers: this.options.iceServersFor(seat.peerId),
      resume: seat.resume,
      graceMs: this.options.graceMs,
    };
  }

  private deliver(link: string, message: ServerMessage | string, sentAt?: number): void {
    const local = this.links.get(link);
    if (local === undefined) return;
    if (sentAt !== undefined) this.options.onRelayed?.(Math.max(0, (now() - sentAt) / 1000));
    if (local.early !== null) local.early.push(message);
    else this.deliverTo(local, message);
  }

  private deliverTo(local: LocalLink, message: ServerMessage | string): void {
    if (isSessionReplaced(message)) {
      // The seat now belongs to a newer socket: forget it here before closing, so it is not dropped.
      this.links.delete(local.link.id);
      local.link.replace();
      return;
    }
    if (typeof message === 'string') local.link.sendText(message);
    else local.link.send(message);
  }

  private forget(link: string): void {
    this.links.delete(link);
  }

  /**
   * Ends this socket's hold on its seat: frees it (`leave`) or holds it for the grace period
   * (a drop). If the store cannot be reached it is remembered and finished when the store is back.
   */
  private async finish(room: string, peerId: string, link: string, leave: boolean, graceMs = this.options.graceMs): Promise<void> {
    if (this.closed) return;
    const key = seatKey(room, peerId);
    this.unfinished.set(key, { room, peerId, link, leave });
    try {
      await this.change(room, (state) => {
        const seat = state.seats.find((candidate) => candidate.peerId === peerId);
        // Taken back by another socket meanwhile: not ours to free or hold any more.
        if (seat === undefined || seat.link !== link) return undefined;
        return leave ? this.removal(state, seat, 'hangup') : this.holding(room, state, seat, graceMs);
      });
      this.unfinished.delete(key);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  }

  /** The write that holds `seat` for the grace period and tells the other peer. */
  private holding(room: string, state: RoomState, seat: SeatRecord, graceMs = this.options.graceMs) {
    const heldUntil = Date.now() + graceMs;
    this.held.set(seatKey(room, seat.peerId), { room, heldUntil });
    const other = state.seats.find((candidate) => candidate !== seat);
    return {
      seats: state.seats.map((candidate) => (candidate === seat ? { ...seat, link: '', heldUntil } : candidate)),
      deliver: other?.link ? [{ to: other.link, message: { type: 'peer-disconnected', peerId: seat.peerId } as const }] : [],
    };
  }

  /** The write that frees `seat` and tells the other peer why. */
  private removal(state: RoomState, seat: SeatRecord, reason: 'hangup' | 'timeout') {
    const other = state.seats.find((candidate) => candidate !== seat);
    return {
      seats: state.seats.filter((candidate) => candidate !== seat),
      deliver: other?.link ? [{ to: other.link, message: { type: 'peer-left', peerId: seat.peerId, reason } as const }] : [],
      // Signals the departed peer queued for the other seat belong to a call that is over.
      clearQueuesOf: other ? [other.peerId] : [],
    };
  }

  /** A held seat's deadline passed: free it, if it is still held and due. */
  private async expire(room: string, peerId: string): Promise<void> {
    if (this.closed) return;
    const expired = await this.change(room, (state) => {
      const seat = state.seats.find((candidate) => candidate.peerId === peerId);
      if (seat === undefined || seat.link !== '' || seat.heldUntil > Date.now() + DEADLINE_TOLERANCE_MS) return undefined;
      return this.removal(state, seat, 'timeout');
    });
    this.held.delete(seatKey(room, peerId));
    if (expired) this.options.onSeatExpired?.({ room, peerId });
  }

  /** A node died: hold its seats as if their sockets had dropped now. */
  private async nodeLost(room: string, peerId: string, node: string): Promise<void> {
    await this.change(room, (state) => {
      const seat = state.seats.find((candidate) => candidate.peerId === peerId);
      if (seat === undefined || seat.link === '' || nodeOfLink(seat.link) !== node) return undefined;
      return this.holding(room, state, seat);
    });
  }

  /**
   * The store is back (maybe empty, after a restart): put this node's live seats back where they
   * are missing, and finish the drops and leaves it could not record meanwhile.
   */
  private async recover(): Promise<void> {
    for (const local of [...this.links.values()]) {
      const { seat, room } = local;
      if (seat === undefined || room === undefined) continue;
      await this.store.admitRoom(room, Number.MAX_SAFE_INTEGER);
      await this.store.admitSeat(seat.address, seat.peerId, Number.MAX_SAFE_INTEGER);
      await this.change(room, (state) => {
        const stored = state.seats.find((candidate) => candidate.peerId === seat.peerId);
        if (stored === undefined) {
          return state.seats.length >= 2 ? undefined : { seats: [...state.seats, seat], deliver: [] };
        }
        if (stored.link !== '' || stored.resume !== seat.resume) return undefined;
        // Held by a survivor that took this node for dead (a long pause): the socket is still here.
        const other = state.seats.find((candidate) => candidate !== stored);
        return {
          seats: state.seats.map((candidate) => (candidate === stored ? seat : candidate)),
          deliver: other?.link ? [{ to: other.link, message: { type: 'peer-reconnected', peerId: seat.peerId } as const }] : [],
        };
      });
    }
    for (const { room, peerId, link, leave } of [...this.unfinished.values()]) await this.finish(room, peerId, link, leave);
  }

  /**
   * Read → decide → compare-and-set, retried while another writer got there first. `decide`
   * returns the write, or undefined for "nothing to do". Resolves true if a write committed.
   */
  private async change(room: string, decide: (state: RoomState) => Parameters<RoomStore['write']>[2] | undefined): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const state = await this.store.read(room);
      const write = decide(state);
      if (write === undefined) return false;
      const result = await this.store.write(room, state.version, write);
      if (result.committed) return true;
    }
    throw new StoreUnavailableError(`room ${room}: too much contention`);
  }

  /** What `address` queued for held seats through this node within the last grace period. */
  private queuedBy(address: string): QueuedBytes {
    let entry = this.queuedBytes.get(address);
    if (entry === undefined) {
      entry = new QueuedBytes(this.options.graceMs);
      this.queuedBytes.set(address, entry);
    }
    return entry;
  }

  private liveHeld(): Array<{ room: string; heldUntil: number }> {
    const now = Date.now();
    const alive = [];
    for (const [key, entry] of this.held) {
      if (entry.heldUntil + 1_000 < now) this.held.delete(key);
      else alive.push(entry);
    }
    return alive;
  }
}

/** Bytes queued by one address in a sliding window. */
class QueuedBytes {
  private readonly entries: Array<{ at: number; bytes: number }> = [];
  private total = 0;

  constructor(private readonly windowMs: number) {}

  get bytes(): number {
    const horizon = Date.now() - this.windowMs;
    while (this.entries.length > 0 && (this.entries[0] as { at: number }).at <= horizon) {
      this.total -= (this.entries.shift() as { bytes: number }).bytes;
    }
    return this.total;
  }

  get empty(): boolean {
    return this.bytes === 0 && this.entries.length === 0;
  }

  add(bytes: number): void {
    this.entries.push({ at: Date.now(), bytes });
    this.total += bytes;
  }
}

function roomFull(state: RoomState): JoinFailure {
  const held = state.seats.filter((seat) => seat.link === '');
  if (held.length === 0) return { ok: false, code: 'room-full' };
  const soonest = Math.min(...held.map((seat) => seat.heldUntil));
  return { ok: false, code: 'room-full', retryAfterMs: Math.max(1, Math.ceil(soonest - Date.now())) };
}

function sessionReplaced(): ServerMessage {
  return { type: 'error', code: 'session-replaced', message: 'this seat was taken back by another connection' };
}

/** The serialized form starts so because {@link sessionReplaced} builds it with these keys first. */
const SESSION_REPLACED_TEXT = '{"type":"error","code":"session-replaced"';

function isSessionReplaced(message: ServerMessage | string): boolean {
  return typeof message === 'string'
    ? message.startsWith(SESSION_REPLACED_TEXT)
    : message.type === 'error' && message.code === 'session-replaced';
}

function randomId(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
