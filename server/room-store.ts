/**
 * The storage seam under the seat policy (rooms.ts): where rooms and seats live and how a
 * message reaches the socket of a seat, which may be on another node.
 *
 * A store only stores, delivers and expires. Every decision (who may sit, politeness, resume
 * values, the queue limit, grace deadlines, what each side is told) is taken by the policy,
 * which reads a room, decides, and writes the result back with a compare-and-set on the
 * room's version. So both stores share one policy, and a race for the last seat is settled by
 * the store's atomic write: exactly one writer commits, the others read again.
 */
import type { ServerMessage } from '../sdk/protocol.js';

/**
 * One seat as stored. `link` names the socket that holds it (`<nodeId>/<connectionId>`), or is
 * `''` while the seat is held after a drop; `heldUntil` is then the end of its grace period
 * (milliseconds since the epoch; node clocks are assumed in sync to within a second).
 */
export interface SeatRecord {
  peerId: string;
  polite: boolean;
  address: string;
  link: string;
  resume: string;
  heldUntil: number;
}

/** A room as read: its seats and the version a write must name to replace them. */
export interface RoomState {
  version: number;
  seats: SeatRecord[];
}

/** A message for the socket `to` (a link id), delivered in order with the write that carries it. */
export interface Delivery {
  to: string;
  message: ServerMessage;
}

export interface RoomWrite {
  /** The room's seats after the write; `[]` forgets the room. */
  seats: SeatRecord[];
  /** Sent once the write commits, in this order, and before anything written after it. */
  deliver: Delivery[];
  /** Hand back, and empty, the queue of signals held for this seat (a resume). */
  takeQueueOf?: string;
  /** Empty the queues of these seats (their peer left: the signals belong to an ended call). */
  clearQueuesOf?: string[];
}

/** `queue`: the held seat's queued `signal` frames, serialized, in order. */
export type WriteResult = { committed: false } | { committed: true; queue: string[] };

/** How much may wait for a held seat; a signal that would pass a limit is refused (`peer-absent`). */
export interface QueueLimits {
  /** Signals queued for the seat. */
  count: number;
  /** Bytes of the serialized frames queued for the seat. */
  seatBytes: number;
  /** Bytes this signal may take, from its sender's own budget. */
  senderBytes: number;
}

/** What happened to a relayed signal. */
export type RelayResult =
  /** Sent towards the other seat's socket. */
  | 'delivered'
  /** The other seat is held: kept for its resume. */
  | 'queued'
  /** Nobody to receive it, or the held seat's queue is full. */
  | 'peer-absent'
  /** The sender's own seat is gone or belongs to another socket now. */
  | 'not-seated';

/** How the store calls back into the policy. */
export interface StoreHandlers {
  /**
   * A message for a socket of this node, as an object or already serialized (relayed signals and
   * whatever crossed nodes are passed on as the text they are); `sentAt` (epoch ms) for signals.
   */
  deliver(link: string, message: ServerMessage | string, sentAt?: number): void;
  /** The held seat's deadline has passed (maybe on another node's watch): end it if still due. */
  expire(room: string, peerId: string): Promise<void>;
  /**
   * The node `node` is gone without a goodbye: the seat may still name one of its sockets.
   * Called on one surviving node only.
   */
  nodeLost(room: string, peerId: string, node: string): Promise<void>;
  /** The store was unreachable and is back: re-register this node's live seats. */
  recovered(): void;
}

/** The store cannot answer now (Redis down, a timeout). The client is told `server-busy`. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface RoomStore {
  /** This node's id; link ids start with it. */
  readonly nodeId: string;
  /** False while the store cannot be reached. */
  readonly available: boolean;
  /** True when seats outlive this process (other nodes take over): a graceful stop holds them. */
  readonly shared: boolean;
  /** Connects (where there is anything to connect to) and starts delivering to `handlers`. */
  start(handlers: StoreHandlers): Promise<void>;
  read(room: string): Promise<RoomState>;
  /** Replaces the room's seats if its version is still `expectedVersion`. */
  write(room: string, expectedVersion: number, write: RoomWrite): Promise<WriteResult>;
  /**
   * Relays `frame` (a serialized `signal` from the seat `from`, whose socket is `link`) to the
   * other seat: to its socket if live, to its queue if held and `limits` allow. `sentAt` (epoch
   * ms, when the frame arrived) goes with it for the relay latency measured where it is delivered.
   */
  relay(room: string, from: string, link: string, frame: string, limits: QueueLimits, sentAt: number): Promise<RelayResult>;
  /** Counts a new room against `maxRooms` (for the whole cluster); false when there is no room for it. */
  admitRoom(room: string, maxRooms: number): Promise<boolean>;
  /** Counts a seat against its address's limit; false when the address holds `max` already. */
  admitSeat(address: string, peerId: string, max: number): Promise<boolean>;
  /** Undoes `admitSeat` for a seat that was never written (the store releases written seats itself). */
  releaseSeat(address: string, peerId: string): Promise<void>;
  /** Stops timers and connections; seats are left as they are (the node is going away). */
  close(): Promise<void>;
}

/** The link id of a connection: which node's socket holds a seat. */
export function linkId(nodeId: string, connectionId: string): string {
  return `${nodeId}/${connectionId}`;
}

export function nodeOfLink(link: string): string {
  return link.slice(0, link.indexOf('/'));
}
