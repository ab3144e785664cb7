/**
 * Rooms of at most two seats: who sits where, politeness, the grace period after a drop,
 * single-use resume values and the queue of signals for a held seat.
 *
 * This module knows nothing about sockets: a seat talks to its peer through a {@link PeerLink}.
 * That is the seam for scale-out: a Redis-backed directory implements the same
 * {@link RoomDirectory} interface and delivers to links on other nodes.
 */
import { randomBytes } from 'node:crypto';
import {
  MAX_QUEUED_SIGNALS,
  type IceServer,
  type ServerMessage,
  type SignalData,
} from '../sdk/protocol.js';
import { monotonicClock, type Clock } from './rate-limiter.js';

/** The live end of a seat: one WebSocket connection. */
export interface PeerLink {
  send(message: ServerMessage): void;
  /** The seat was taken back from another socket: tell this one and close it (4001). */
  replace(): void;
}

/** What a connection holds while it is seated; opaque outside this module. */
export interface SeatHandle {
  readonly room: string;
  readonly peerId: string;
}

export type JoinFailure =
  | { ok: false; code: 'room-full'; retryAfterMs?: number }
  | { ok: false; code: 'server-busy'; retryAfterMs: number }
  | { ok: false; code: 'invalid-resume' };
export type JoinResult = { ok: true; seat: SeatHandle } | JoinFailure;

export interface RoomDirectory {
  /**
   * Takes a free seat in `room` (creating the room), and sends `joined` to `link`. `address`
   * is the client's address: one address holds at most `maxSeatsPerAddress` seats, live or held.
   */
  join(link: PeerLink, room: string, address: string): JoinResult;
  /** Takes back the seat that `resume` was issued for, and sends `joined` to `link`. */
  resume(link: PeerLink, room: string, resume: string): JoinResult;
  /** Relays to the other seat; returns `'peer-absent'` when nobody can receive it. */
  signal(seat: SeatHandle, data: SignalData): 'peer-absent' | undefined;
  /** Explicit hangup: frees the seat at once. */
  leave(seat: SeatHandle): void;
  /**
   * The seat's socket is gone without `leave`: hold the seat for the grace period, or for
   * `graceMs` when that is shorter (the page said it is going away: `away`).
   */
  drop(seat: SeatHandle, graceMs?: number): void;
  readonly roomCount: number;
  /** Stops every grace timer (server shutdown). */
  close(): void;
}

export interface RoomOptions {
  graceMs: number;
  maxRooms: number;
  /**
   * Seats, live or held, one client address may hold. Without it one address could fill every
   * room by joining and dropping (held seats outlive their sockets by the grace period).
   */
  maxSeatsPerAddress: number;
  /** The `iceServers` to put in a seat's `joined`. */
  iceServersFor(peerId: string): IceServer[];
  now?: Clock;
  /** Called when a seat's grace period ends without a resume. */
  onSeatExpired?(seat: SeatHandle): void;
}

/** How long to tell a client to wait when the server has no room for another room. */
export const SERVER_BUSY_RETRY_MS = 5_000;

interface Seat extends SeatHandle {
  readonly polite: boolean;
  readonly address: string;
  /** `null` while the seat is held after a drop. */
  link: PeerLink | null;
  resume: string;
  graceEndsAt: number;
  graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Signals from the other seat waiting for this held seat to come back. */
  queue: SignalData[];
}

interface Room {
  readonly id: string;
  readonly seats: Seat[];
}

export class InMemoryRooms implements RoomDirectory {
  private readonly rooms = new Map<string, Room>();
  private readonly seatsByResume = new Map<string, Seat>();
  private readonly seatsByAddress = new Map<string, number>();
  private readonly now: Clock;

  constructor(private readonly options: RoomOptions) {
    this.now = options.now ?? monotonicClock;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  join(link: PeerLink, roomId: string, address: string): JoinResult {
    const held = this.seatsByAddress.get(address) ?? 0;
    if (held >= this.options.maxSeatsPerAddress) {
      return { ok: false, code: 'server-busy', retryAfterMs: Math.max(1, this.options.graceMs) };
    }
    let room = this.rooms.get(roomId);
    if (room === undefined) {
      if (this.rooms.size >= this.options.maxRooms) {
        return { ok: false, code: 'server-busy', retryAfterMs: SERVER_BUSY_RETRY_MS };
      }
      room = { id: roomId, seats: [] };
      this.rooms.set(roomId, room);
    }
    if (room.seats.length >= 2) return this.roomFull(room);

    const other = room.seats[0];
    const seat: Seat = {
      room: roomId,
      peerId: randomId(12),
      // The first seat is polite; the second takes the opposite of whoever is there, so the
      // two seated peers always differ however often peers come and go.
      polite: other === undefined ? true : !other.polite,
      address,
      link,
      resume: '',
      graceEndsAt: 0,
      graceTimer: undefined,
      queue: [],
    };
    room.seats.push(seat);
    this.seatsByAddress.set(address, held + 1);
    this.sendJoined(seat, other);
    if (other?.link) {
      other.link.send({ type: 'peer-joined', peerId: seat.peerId });
    } else if (other) {
      link.send({ type: 'peer-disconnected', peerId: other.peerId });
    }
    return { ok: true, seat };
  }

  resume(link: PeerLink, roomId: string, resume: string): JoinResult {
    const seat = this.seatsByResume.get(resume);
    if (seat === undefined || seat.room !== roomId) return { ok: false, code: 'invalid-resume' };
    if (seat.link === null && this.now() >= seat.graceEndsAt) {
      // The grace ended but its timer has not run yet: the seat is gone all the same.
      this.expire(seat);
      return { ok: false, code: 'invalid-resume' };
    }

    const previous = seat.link;
    clearTimeout(seat.graceTimer);
    seat.graceTimer = undefined;
    seat.link = link;
    previous?.replace();

    const other = this.otherSeat(seat);
    this.sendJoined(seat, other);
    if (other?.link) {
      other.link.send({ type: 'peer-reconnected', peerId: seat.peerId });
    } else if (other) {
      link.send({ type: 'peer-disconnected', peerId: other.peerId });
    }
    const queued = seat.queue;
    seat.queue = [];
    for (const data of queued) link.send({ type: 'signal', from: other?.peerId ?? '', data });
    return { ok: true, seat };
  }

  signal(handle: SeatHandle, data: SignalData): 'peer-absent' | undefined {
    const seat = handle as Seat;
    const other = this.otherSeat(seat);
    if (other === undefined) return 'peer-absent';
    if (other.link) {
      other.link.send({ type: 'signal', from: seat.peerId, data });
      return undefined;
    }
    if (other.queue.length >= MAX_QUEUED_SIGNALS) return 'peer-absent';
    other.queue.push(data);
    return undefined;
  }

  leave(handle: SeatHandle): void {
    this.removeSeat(handle as Seat, 'hangup');
  }

  drop(handle: SeatHandle, graceMs = this.options.graceMs): void {
    const seat = handle as Seat;
    if (!this.isSeated(seat)) return;
    const hold = Math.min(graceMs, this.options.graceMs);
    seat.link = null;
    seat.graceEndsAt = this.now() + hold;
    seat.graceTimer = setTimeout(() => this.expire(seat), hold);
    this.otherSeat(seat)?.link?.send({ type: 'peer-disconnected', peerId: seat.peerId });
  }

  close(): void {
    for (const room of this.rooms.values()) {
      for (const seat of room.seats) clearTimeout(seat.graceTimer);
    }
    this.rooms.clear();
    this.seatsByResume.clear();
    this.seatsByAddress.clear();
  }

  private expire(seat: Seat): void {
    if (!this.isSeated(seat) || seat.link !== null) return;
    this.removeSeat(seat, 'timeout');
    this.options.onSeatExpired?.(seat);
  }

  /** Frees a seat, tells the other peer why, and forgets the room once it is empty. */
  private removeSeat(seat: Seat, reason: 'hangup' | 'timeout'): void {
    const room = this.rooms.get(seat.room);
    if (room === undefined) return;
    const index = room.seats.indexOf(seat);
    if (index < 0) return;
    room.seats.splice(index, 1);
    clearTimeout(seat.graceTimer);
    const held = (this.seatsByAddress.get(seat.address) ?? 1) - 1;
    if (held > 0) this.seatsByAddress.set(seat.address, held);
    else this.seatsByAddress.delete(seat.address);
    this.seatsByResume.delete(seat.resume);
    const other = room.seats[0];
    if (other) {
      // Signals the departed peer queued for the other seat belong to a call that is over.
      other.queue = [];
      other.link?.send({ type: 'peer-left', peerId: seat.peerId, reason });
    }
    if (room.seats.length === 0) this.rooms.delete(room.id);
  }

  private sendJoined(seat: Seat, other: Seat | undefined): void {
    this.seatsByResume.delete(seat.resume);
    seat.resume = randomId(24);
    this.seatsByResume.set(seat.resume, seat);
    seat.link?.send({
      type: 'joined',
      room: seat.room,
      peerId: seat.peerId,
      peers: other ? [other.peerId] : [],
      polite: seat.polite,
      iceServers: this.options.iceServersFor(seat.peerId),
      resume: seat.resume,
      graceMs: this.options.graceMs,
    });
  }

  private roomFull(room: Room): JoinFailure {
    const now = this.now();
    const held = room.seats.filter((seat) => seat.link === null);
    if (held.length === 0) return { ok: false, code: 'room-full' };
    const soonest = Math.min(...held.map((seat) => seat.graceEndsAt));
    return { ok: false, code: 'room-full', retryAfterMs: Math.max(1, Math.ceil(soonest - now)) };
  }

  private otherSeat(seat: Seat): Seat | undefined {
    return this.rooms.get(seat.room)?.seats.find((candidate) => candidate !== seat);
  }

  private isSeated(seat: Seat): boolean {
    return this.rooms.get(seat.room)?.seats.includes(seat) ?? false;
  }
}

function randomId(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
