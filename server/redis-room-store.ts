/**
 * Rooms in Redis, shared by every node of a deployment (a single Redis or a Redis Cluster),
 * with ioredis as the client (see docs/scaling.md for why).
 *
 * - A room is one hash under the hash tag `{room}`; its queues for held seats sit beside it.
 *   Changes are Lua compare-and-set scripts (redis-scripts.ts), atomic on the room's shard.
 * - Each node subscribes to one channel of its own, `p2p:node:<nodeId>`. A script that changes a
 *   room publishes the resulting messages to the channels of the nodes whose sockets hold its
 *   seats, so a room's messages reach each node in the order the room changed.
 * - Each node beats a score in `p2p:nodes`; a node whose beat is older than the liveness
 *   window is reaped by one survivor, which holds its seats as dropped (the other peers get
 *   `peer-disconnected`, and their grace starts then).
 * - Held seats' deadlines are in `p2p:deadlines`: the node that held the seat keeps a timer,
 *   and every node sweeps the set, so a seat expires on time even when its node is gone.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { ServerMessage } from '../sdk/protocol.js';
import { ADMIT_TO_SET, RELAY_SIGNAL, WRITE_ROOM } from './redis-scripts.js';
import {
  StoreUnavailableError,
  nodeOfLink,
  type QueueLimits,
  type RelayResult,
  type RoomState,
  type RoomStore,
  type RoomWrite,
  type SeatRecord,
  type StoreHandlers,
  type WriteResult,
} from './room-store.js';

export interface RedisRoomStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`; for a Cluster, seed URLs separated by commas. */
  url: string;
  /** Talk to a Redis Cluster (the URLs are seed nodes). */
  cluster?: boolean;
  /** How often this node proves it is alive, ms; it is declared dead after three missed beats. */
  beatMs: number;
  /** Every key and channel starts with this. */
  keyPrefix?: string;
  /** A command not answered within this is a failure (the join is answered `server-busy`). */
  commandTimeoutMs?: number;
  log: Logger;
  /** Counts failed store operations. */
  onError?(operation: string): void;
}

type Client = Redis | Cluster;

/** The scripts, as ioredis exposes them once defined. */
interface ScriptCommands {
  p2pWriteRoom(key: string, ...args: Array<string | number>): Promise<0 | [1, string, ...string[]]>;
  p2pRelay(key: string, ...args: Array<string | number>): Promise<RelayResult>;
  p2pAdmit(key: string, member: string, limit: number): Promise<0 | 1>;
}

/** An emptied room's hash is kept this long so that its version never repeats. */
const TOMBSTONE_MS = 10 * 60_000;
/** How often each node looks for held seats whose deadline has passed. */
const SWEEP_MS = 250;

export class RedisRoomStore implements RoomStore {
  readonly nodeId = randomBytes(6).toString('hex');
  readonly shared = true;
  private readonly prefix: string;
  private readonly commands: Client;
  private readonly subscriber: Client;
  private handlers: StoreHandlers | undefined;
  private failures = 0;
  private wasUp = false;
  /** This node's entry in `p2p:nodes` was written once: finding it gone later means we were reaped. */
  private registered = false;
  private down = true;
  private closed = false;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly expiries = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly options: RedisRoomStoreOptions) {
    this.prefix = options.keyPrefix ?? 'p2p:';
    const timeout = options.commandTimeoutMs ?? 1_200;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      // Fail at once while disconnected: a join must be answered within 2 s, never queued.
      enableOfflineQueue: false,
      commandTimeout: timeout,
      connectTimeout: timeout,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    };
    this.commands = createClient(options, redisOptions);
    // The subscriber may queue its SUBSCRIBE until connected; ioredis re-subscribes after a reconnect.
    this.subscriber = createClient(options, { ...redisOptions, enableOfflineQueue: true, commandTimeout: undefined });
    const scripts = { p2pWriteRoom: WRITE_ROOM, p2pRelay: RELAY_SIGNAL, p2pAdmit: ADMIT_TO_SET };
    for (const [name, lua] of Object.entries(scripts)) this.commands.defineCommand(name, { numberOfKeys: 1, lua });
    this.commands.on('error', (error: Error) => this.failed('connection', error));
    this.subscriber.on('error', () => undefined);
    this.commands.on('ready', () => this.succeeded());
    this.commands.on('close', () => this.markDown());
  }

  get available(): boolean {
    return !this.down;
  }

  async start(handlers: StoreHandlers): Promise<void> {
    this.handlers = handlers;
    this.subscriber.on('message', (_channel: string, payload: string) => this.receive(payload));
    // Wait for Redis a moment, never longer: a node whose Redis is down or refuses it still
    // starts, answers `server-busy` and `/healthz` 503, and recovers when Redis is there.
    const connected = Promise.all([
      this.commands.connect().catch((error: Error) => this.failed('connect', error)),
      this.subscriber.connect().catch(() => undefined),
    ]).then(() => this.subscriber.subscribe(this.channelOf(this.nodeId)))
      .catch((error: Error) => this.failed('subscribe', error));
    let waited: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([connected, new Promise((resolve) => (waited = setTimeout(resolve, this.options.commandTimeoutMs ?? 1_200)))]);
    clearTimeout(waited);
    await this.beat();
    const beat = setInterval(() => void this.beat(), this.options.beatMs);
    const reap = setInterval(() => void this.reap(), this.options.beatMs);
    const sweep = setInterval(() => void this.sweep(), SWEEP_MS);
    for (const timer of [beat, reap, sweep]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  async read(room: string): Promise<RoomState> {
    const [version, seats] = await this.call('read', () => this.commands.hmget(this.roomKey(room), 'v', 'seats'));
    return { version: Number(version ?? 0), seats: seats ? (JSON.parse(seats) as SeatRecord[]) : [] };
  }

  async write(room: string, expectedVersion: number, write: RoomWrite): Promise<WriteResult> {
    const mine = write.seats.filter((seat) => seat.link !== '' && nodeOfLink(seat.link) === this.nodeId);
    const held = write.seats.filter((seat) => seat.heldUntil > 0);
    // Bookkeeping that must survive this node dying right after the commit is done before it:
    // the reaper finds our seats in our set, the sweeper finds held seats' deadlines.
    await this.call('track', () => Promise.all([
      ...mine.map((seat) => this.commands.sadd(this.nodeSeatsKey(this.nodeId), member(room, seat.peerId))),
      ...held.map((seat) => this.commands.zadd(this.key('deadlines'), seat.heldUntil, member(room, seat.peerId))),
    ]));
    const clear = write.clearQueuesOf ?? [];
    const publish = write.deliver.flatMap(({ to, message }) => [this.channelOf(nodeOfLink(to)), envelope(to, '', message)]);
    const reply = await this.call('write', () => this.scripts().p2pWriteRoom(
      this.roomKey(room),
      expectedVersion,
      write.seats.length === 0 ? '' : JSON.stringify(write.seats),
      TOMBSTONE_MS,
      this.queuePrefix(room),
      write.takeQueueOf ?? '',
      clear.length,
      ...clear,
      ...publish,
    ));
    if (reply === 0) return { committed: false };
    const [, previousJson, ...queued] = reply;
    const previous = previousJson ? (JSON.parse(previousJson) as SeatRecord[]) : [];
    this.settle(room, previous, write.seats);
    return { committed: true, queue: queued };
  }

  async relay(room: string, from: string, link: string, frame: string, limits: QueueLimits, sentAt: number): Promise<RelayResult> {
    return this.call('relay', () => this.scripts().p2pRelay(
      this.roomKey(room),
      from,
      link,
      frame,
      limits.count,
      this.key('node:'),
      this.queuePrefix(room),
      sentAt.toFixed(3),
      limits.seatBytes,
      limits.senderBytes,
    ));
  }

  async admitRoom(room: string, maxRooms: number): Promise<boolean> {
    return (await this.call('admit-room', () => this.scripts().p2pAdmit(this.key('rooms'), room, maxRooms))) === 1;
  }

  async admitSeat(address: string, peerId: string, max: number): Promise<boolean> {
    return (await this.call('admit-seat', () => this.scripts().p2pAdmit(this.addressKey(address), peerId, max))) === 1;
  }

  async releaseSeat(address: string, peerId: string): Promise<void> {
    await this.call('release-seat', () => this.commands.srem(this.addressKey(address), peerId));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
    // A graceful stop: this node's seats were held before their sockets closed; say goodbye so
    // nobody reaps it. If Redis is gone too there is nothing to say.
    await this.commands.zrem(this.key('nodes'), this.nodeId).catch(() => undefined);
    await this.commands.del(this.nodeSeatsKey(this.nodeId)).catch(() => undefined);
    this.subscriber.disconnect();
    this.commands.disconnect();
  }

  // -------------------------------------------------------------------------------------------

  /** After a commit: the bookkeeping outside the room's slot (address limits, rooms, node sets, deadlines). */
  private settle(room: string, previous: SeatRecord[], next: SeatRecord[]): void {
    const work: Array<Promise<unknown>> = [];
    for (const before of previous) {
      const after = next.find((seat) => seat.peerId === before.peerId);
      if (after === undefined) work.push(this.commands.srem(this.addressKey(before.address), before.peerId));
      if (before.link !== '' && (after === undefined || after.link === '' || nodeOfLink(after.link) !== nodeOfLink(before.link))) {
        work.push(this.commands.srem(this.nodeSeatsKey(nodeOfLink(before.link)), member(room, before.peerId)));
      }
      if (before.heldUntil > 0 && (after === undefined || after.heldUntil === 0)) {
        work.push(this.commands.zrem(this.key('deadlines'), member(room, before.peerId)));
      }
    }
    if (next.length === 0) work.push(this.commands.srem(this.key('rooms'), room));
    for (const seat of next) this.setExpiry(room, seat.peerId, seat.heldUntil);
    for (const gone of previous.filter((seat) => !next.some((s) => s.peerId === seat.peerId))) this.setExpiry(room, gone.peerId, 0);
    // Best effort: a leftover entry is harmless (the reaper and the sweeper check the room itself).
    void Promise.all(work).catch((error: Error) => this.failed('settle', error));
  }

  /** A local timer for a held seat's deadline, so the node that held it ends it to the millisecond. */
  private setExpiry(room: string, peerId: string, heldUntil: number): void {
    const key = member(room, peerId);
    const existing = this.expiries.get(key);
    if (existing !== undefined) clearTimeout(existing);
    this.expiries.delete(key);
    if (heldUntil === 0 || this.closed) return;
    const timer = setTimeout(() => {
      this.expiries.delete(key);
      void this.handlers?.expire(room, peerId);
    }, Math.max(0, heldUntil - Date.now()));
    timer.unref();
    this.expiries.set(key, timer);
  }

  private receive(payload: string): void {
    const first = payload.indexOf('\n');
    const second = payload.indexOf('\n', first + 1);
    if (first < 0 || second < 0) return;
    const link = payload.slice(0, first);
    const sentAt = payload.slice(first + 1, second);
    // Passed on as the text it is: only our own scripts publish here, from frames we serialized.
    this.handlers?.deliver(link, payload.slice(second + 1), sentAt === '' ? undefined : Number(sentAt));
  }

  /** Proves this node alive. A beat that finds our entry gone means we were reaped: re-register. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      const added = await this.call('beat', () => this.commands.zadd(this.key('nodes'), Date.now(), this.nodeId));
      if (added === 1 && this.registered) {
        this.options.log.warn('this node was declared dead meanwhile: re-registering its seats');
        this.handlers?.recovered();
      }
      this.registered = true;
    } catch {
      // Counted and logged by call(); the next beat tries again.
    }
  }

  /** Finds nodes that stopped beating and holds their seats, once, on one surviving node. */
  private async reap(): Promise<void> {
    if (this.closed || this.down) return;
    try {
      const deadline = Date.now() - 3 * this.options.beatMs;
      const dead = await this.call('reap', () => this.commands.zrangebyscore(this.key('nodes'), '-inf', deadline));
      for (const node of dead) {
        if (node === this.nodeId) continue;
        const claimed = await this.commands.set(this.key(`reap:${node}`), this.nodeId, 'PX', 30_000, 'NX');
        if (claimed !== 'OK') continue;
        this.options.log.warn({ deadNode: node }, 'node stopped beating: holding its seats');
        const seats = await this.commands.smembers(this.nodeSeatsKey(node));
        for (const entry of seats) {
          const [room, peerId] = entry.split('\n') as [string, string];
          await this.handlers?.nodeLost(room, peerId, node);
        }
        await this.commands.del(this.nodeSeatsKey(node));
        await this.commands.zrem(this.key('nodes'), node);
        this.options.log.info({ deadNode: node, seats: seats.length }, 'dead node reaped');
      }
    } catch (error) {
      this.failed('reap', error as Error);
    }
  }

  /** Ends held seats whose deadline has passed, whichever node held them. */
  private async sweep(): Promise<void> {
    if (this.closed || this.down) return;
    try {
      const due = await this.commands.zrangebyscore(this.key('deadlines'), '-inf', Date.now(), 'LIMIT', 0, 100);
      for (const entry of due) {
        const [room, peerId] = entry.split('\n') as [string, string];
        await this.handlers?.expire(room, peerId);
        await this.commands.zrem(this.key('deadlines'), entry);
      }
    } catch (error) {
      this.failed('sweep', error as Error);
    }
  }

  /** Runs one store operation; any failure becomes {@link StoreUnavailableError}. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the room store is closed');
    try {
      const result = await run();
      this.succeeded();
      return result;
    } catch (error) {
      this.failed(operation, error as Error);
      throw new StoreUnavailableError(`redis ${operation}: ${(error as Error).message}`);
    }
  }

  private succeeded(): void {
    this.failures = 0;
    if (!this.down) return;
    this.down = false;
    if (this.wasUp) {
      this.options.log.info('redis is back: re-registering this node\'s seats');
      this.handlers?.recovered();
    }
    this.wasUp = true;
  }

  private failed(operation: string, error: Error): void {
    this.options.onError?.(operation);
    this.failures++;
    if (!this.down) this.options.log.warn({ operation, err: error.message }, 'redis operation failed');
    this.markDown();
  }

  private markDown(): void {
    if (this.closed) return;
    this.down = true;
  }

  private scripts(): ScriptCommands {
    return this.commands as unknown as ScriptCommands;
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private roomKey(room: string): string {
    return `${this.prefix}{${room}}:room`;
  }

  private queuePrefix(room: string): string {
    return `${this.prefix}{${room}}:q:`;
  }

  private addressKey(address: string): string {
    return `${this.prefix}addr:${address}`;
  }

  private nodeSeatsKey(node: string): string {
    return `${this.prefix}node:${node}:seats`;
  }

  private channelOf(node: string): string {
    return `${this.prefix}node:${node}`;
  }
}

/** A message for one socket on the node channel: `<link>\n<sentAt>\n<json>`. */
function envelope(to: string, sentAt: string, message: ServerMessage): string {
  return `${to}\n${sentAt}\n${JSON.stringify(message)}`;
}

function member(room: string, peerId: string): string {
  return `${room}\n${peerId}`;
}

function createClient(options: RedisRoomStoreOptions, redisOptions: RedisOptions): Client {
  const urls = options.url.split(',').map((url) => url.trim()).filter(Boolean);
  if (!options.cluster) return new Redis(urls[0] ?? '', redisOptions);
  const seeds: ClusterNode[] = urls.map((url) => {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  const first = new URL(urls[0] ?? 'redis://127.0.0.1:6379');
  return new Cluster(seeds, {
    lazyConnect: true,
    enableOfflineQueue: redisOptions.enableOfflineQueue ?? false,
    clusterRetryStrategy: (times) => Math.min(100 * times, 1_000),
    redisOptions: {
      ...redisOptions,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}
