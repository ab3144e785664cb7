/**
 * The default room store: one process, everything in maps, deliveries synchronous. It is the
 * reference for what a store does; the Redis store does the same across nodes.
 */
import { randomBytes } from 'node:crypto';
import type {
  QueueLimits,
  RelayResult,
  RoomState,
  RoomStore,
  RoomWrite,
  SeatRecord,
  StoreHandlers,
  WriteResult,
} from './room-store.js';

interface StoredRoom {
  version: number;
  seats: SeatRecord[];
}

export class MemoryRoomStore implements RoomStore {
  readonly nodeId = randomBytes(4).toString('hex');
  readonly available = true;
  readonly shared = false;
  private handlers: StoreHandlers | undefined;
  private readonly rooms = new Map<string, StoredRoom>();
  /** Rooms admitted but not written yet, so that concurrent joins cannot overshoot `maxRooms`. */
  private readonly admitted = new Set<string>();
  private readonly queues = new Map<string, { items: string[]; bytes: number }>();
  private readonly seatsByAddress = new Map<string, Set<string>>();
  private readonly expiries = new Map<string, ReturnType<typeof setTimeout>>();

  async start(handlers: StoreHandlers): Promise<void> {
    this.handlers = handlers;
  }

  async read(room: string): Promise<RoomState> {
    const stored = this.rooms.get(room);
    return stored === undefined ? { version: 0, seats: [] } : { version: stored.version, seats: stored.seats.map((seat) => ({ ...seat })) };
  }

  async write(room: string, expectedVersion: number, write: RoomWrite): Promise<WriteResult> {
    const stored = this.rooms.get(room);
    if ((stored?.version ?? 0) !== expectedVersion) return { committed: false };
    const before = stored?.seats ?? [];
    this.admitted.delete(room);
    if (write.seats.length === 0) this.rooms.delete(room);
    else this.rooms.set(room, { version: expectedVersion + 1, seats: write.seats.map((seat) => ({ ...seat })) });

    for (const gone of before.filter((seat) => !write.seats.some((s) => s.peerId === seat.peerId))) {
      this.seatsByAddress.get(gone.address)?.delete(gone.peerId);
      if (this.seatsByAddress.get(gone.address)?.size === 0) this.seatsByAddress.delete(gone.address);
      this.queues.delete(queueKey(room, gone.peerId));
      this.setExpiry(room, gone.peerId, 0);
    }
    for (const seat of write.seats) this.setExpiry(room, seat.peerId, seat.heldUntil);
    for (const peerId of write.clearQueuesOf ?? []) this.queues.delete(queueKey(room, peerId));
    let queue: string[] = [];
    if (write.takeQueueOf !== undefined) {
      queue = this.queues.get(queueKey(room, write.takeQueueOf))?.items ?? [];
      this.queues.delete(queueKey(room, write.takeQueueOf));
    }
    for (const { to, message } of write.deliver) this.handlers?.deliver(to, message);
    return { committed: true, queue };
  }

  async relay(room: string, from: string, link: string, frame: string, limits: QueueLimits, sentAt: number): Promise<RelayResult> {
    const seats = this.rooms.get(room)?.seats ?? [];
    if (!seats.some((seat) => seat.peerId === from && seat.link === link)) return 'not-seated';
    const other = seats.find((seat) => seat.peerId !== from);
    if (other === undefined) return 'peer-absent';
    if (other.link !== '') {
      this.handlers?.deliver(other.link, frame, sentAt);
      return 'delivered';
    }
    const key = queueKey(room, other.peerId);
    const queue = this.queues.get(key) ?? { items: [], bytes: 0 };
    const size = Buffer.byteLength(frame);
    if (queue.items.length >= limits.count || queue.bytes + size > limits.seatBytes || size > limits.senderBytes) return 'peer-absent';
    queue.items.push(frame);
    queue.bytes += size;
    this.queues.set(key, queue);
    return 'queued';
  }

  async admitRoom(room: string, maxRooms: number): Promise<boolean> {
    if (this.rooms.has(room) || this.admitted.has(room)) return true;
    let count = this.rooms.size;
    for (const pending of this.admitted) if (!this.rooms.has(pending)) count++;
    if (count >= maxRooms) return false;
    this.admitted.add(room);
    return true;
  }

  async admitSeat(address: string, peerId: string, max: number): Promise<boolean> {
    const seats = this.seatsByAddress.get(address) ?? new Set<string>();
    if (seats.size >= max) return false;
    seats.add(peerId);
    this.seatsByAddress.set(address, seats);
    return true;
  }

  async releaseSeat(address: string, peerId: string): Promise<void> {
    const seats = this.seatsByAddress.get(address);
    seats?.delete(peerId);
    if (seats?.size === 0) this.seatsByAddress.delete(address);
  }

  async close(): Promise<void> {
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
    this.rooms.clear();
    this.admitted.clear();
    this.queues.clear();
    this.seatsByAddress.clear();
    this.handlers = undefined;
  }

  /** Calls `expire` when a held seat's grace ends; `heldUntil` 0 cancels. */
  private setExpiry(room: string, peerId: string, heldUntil: number): void {
    const key = queueKey(room, peerId);
    const existing = this.expiries.get(key);
    if (existing !== undefined) clearTimeout(existing);
    this.expiries.delete(key);
    if (heldUntil === 0) return;
    const timer = setTimeout(() => {
      this.expiries.delete(key);
      void this.handlers?.expire(room, peerId);
    }, Math.max(0, heldUntil - Date.now()));
    this.expiries.set(key, timer);
  }
}

function queueKey(room: string, peerId: string): string {
  return `${room}\n${peerId}`;
}
