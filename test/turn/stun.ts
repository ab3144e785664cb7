/**
 * Just enough STUN/TURN (RFC 5389 / 5766 / 6156) over UDP for the tests: a Binding request to
 * tell that coturn answers, and Allocate / Refresh / CreatePermission / ChannelBind / Send with
 * long-term credentials to watch how coturn treats a TURN REST credential that expires
 * mid-allocation, and which peer addresses a configuration denies (a permission for a denied
 * peer is answered 403 without any packet being sent to it). IPv4 or IPv6 relays and peers; the
 * client itself talks to the server over IPv4. Not a general client: one request at a time per
 * socket, no retransmission beyond what the caller asks for.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { crc32 } from 'node:zlib';

const MAGIC_COOKIE = 0x2112a442;

export const Method = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;

export const Attr = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020,
  fingerprint: 0x8028,
} as const;

type MessageClass = 'request' | 'indication' | 'success' | 'error';
const CLASS_BITS: Record<MessageClass, number> = { request: 0, indication: 1, success: 2, error: 3 };

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: MessageClass;
  transactionId: Buffer;
  attributes: StunAttribute[];
}

/** Long-term credentials (RFC 5389 §10.2): key = MD5(username:realm:password). */
export interface LongTermAuth {
  username: string;
  password: string;
  realm: string;
  nonce: string;
}

export interface Address {
  address: string;
  port: number;
}

function messageType(method: number, cls: MessageClass): number {
  const c = CLASS_BITS[cls];
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7);
}

function attribute(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  const padding = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([header, value, padding]);
}

function header(type: number, length: number, transactionId: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(length, 2);
  head.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(head, 8);
  return head;
}

/** Encodes a message; with `auth` it carries USERNAME, REALM, NONCE and MESSAGE-INTEGRITY; always a FINGERPRINT. */
export function encode(message: StunMessage, auth?: LongTermAuth): Buffer {
  const type = messageType(message.method, message.cls);
  const attrs = message.attributes.map((a) => attribute(a.type, a.value));
  if (auth) {
    attrs.push(
      attribute(Attr.username, Buffer.from(auth.username)),
      attribute(Attr.realm, Buffer.from(auth.realm)),
      attribute(Attr.nonce, Buffer.from(auth.nonce)),
    );
  }
  let body = Buffer.concat(attrs);
  if (auth) {
    // The HMAC covers the message with its length already counting the integrity attribute.
    const key = createHash('md5').update(`${auth.username}:${auth.realm}:${auth.password}`).digest();
    const hmac = createHmac('sha1', key).update(Buffer.concat([header(type, body.length + 24, message.transactionId), body])).digest();
    body = Buffer.concat([body, attribute(Attr.messageIntegrity, hmac)]);
  }
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE((crc32(Buffer.concat([header(type, body.length + 8, message.transactionId), body])) ^ 0x5354554e) >>> 0);
  body = Buffer.concat([body, attribute(Attr.fingerprint, fingerprint)]);
  return Buffer.concat([header(type, body.length, message.transactionId), body]);
}

/** Decodes a STUN message, or returns undefined for anything else (e.g. ChannelData). */
export function decode(packet: Buffer): StunMessage | undefined {
  if (packet.length < 20 || (packet[0] as number) >> 6 !== 0 || packet.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const type = packet.readUInt16BE(0);
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const c = ((type & 0x0010) >> 4) | ((type & 0x0100) >> 7);
  const cls = (Object.keys(CLASS_BITS) as MessageClass[]).find((k) => CLASS_BITS[k] === c) as MessageClass;
  const length = packet.readUInt16BE(2);
  const attributes: StunAttribute[] = [];
  let offset = 20;
  while (offset + 4 <= 20 + length && offset + 4 <= packet.length) {
    const attrType = packet.readUInt16BE(offset);
    const attrLength = packet.readUInt16BE(offset + 2);
    attributes.push({ type: attrType, value: packet.subarray(offset + 4, offset + 4 + attrLength) });
    offset += 4 + attrLength + ((4 - (attrLength % 4)) % 4);
  }
  return { method, cls, transactionId: packet.subarray(8, 20), attributes };
}

export function request(method: number, attributes: StunAttribute[] = []): StunMessage {
  return { method, cls: 'request', transactionId: randomBytes(12), attributes };
}

export function indication(method: number, attributes: StunAttribute[] = []): StunMessage {
  return { method, cls: 'indication', transactionId: randomBytes(12), attributes };
}

export function attr(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

export function errorCode(message: StunMessage): number | undefined {
  const value = attr(message, Attr.errorCode);
  return value && value.length >= 4 ? ((value[2] as number) & 0x7) * 100 + (value[3] as number) : undefined;
}

/** A transaction's outcome as one number: 200 for a success answer, else its error code. */
export function status(message: StunMessage): number {
  return message.cls === 'success' ? 200 : errorCode(message) ?? 0;
}

/** An IPv4 or IPv6 address as a 32- or 128-bit number. */
export interface IpNumber {
  family: 4 | 6;
  value: bigint;
}

/** Parses dotted IPv4 or IPv6 text (with `::` and an embedded IPv4 tail) into a number. */
export function parseIp(text: string): IpNumber {
  if (!text.includes(':')) {
    const parts = text.split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) throw new Error(`bad IPv4 address ${text}`);
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  let normalized = text;
  if (text.includes('.')) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes the last two groups.
    const cut = text.lastIndexOf(':') + 1;
    const v4 = parseIp(text.slice(cut)).value;
    normalized = `${text.slice(0, cut)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = normalized.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${text}`);
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const rest = halves.length === 2 && halves[1] !== '' ? (halves[1] as string).split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - rest.length)).fill('0'), ...rest] : head;
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) throw new Error(`bad IPv6 address ${text}`);
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** Formats an address number as text (IPv6 uncompressed, which every parser accepts). */
export function formatIp(ip: IpNumber): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((ip.value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}

/** The XOR mask of an address: the magic cookie, then (for IPv6) the transaction id. */
function xorMask(transactionId: Buffer): Buffer {
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  return mask;
}

/** An XOR-*-ADDRESS value for `address` in a message with `transactionId`. */
export function xorAddress(address: Address, transactionId: Buffer): Buffer {
  const ip = parseIp(address.address);
  const size = ip.family === 4 ? 4 : 16;
  const value = Buffer.alloc(4 + size);
  value[1] = ip.family === 4 ? 0x01 : 0x02;
  value.writeUInt16BE(address.port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = xorMask(transactionId);
  for (let i = 0; i < size; i++) value[4 + i] = Number((ip.value >> BigInt(8 * (size - 1 - i))) & 0xffn) ^ (mask[i] as number);
  return value;
}

/** Reads an XOR-*-ADDRESS value of a message with `transactionId` (IPv6 uncompressed). */
export function readXorAddress(value: Buffer | undefined, transactionId: Buffer): Address | undefined {
  const family = value?.[1] === 0x01 ? 4 : value?.[1] === 0x02 ? 6 : undefined;
  const size = family === 4 ? 4 : 16;
  if (value === undefined || family === undefined || value.length < 4 + size) return undefined;
  const mask = xorMask(transactionId);
  let number = 0n;
  for (let i = 0; i < size; i++) number = (number << 8n) | BigInt((value[4 + i] as number) ^ (mask[i] as number));
  return { address: formatIp({ family, value: number }), port: value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16) };
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** Data relayed to the client: a Data indication (no channel) or ChannelData (RFC 5766 §11). */
export interface Relayed {
  channel: number | undefined;
  data: Buffer;
}

/** Every local port a StunClient of this process has had. */
const portsUsed = new Set<number>();

/** A UDP socket bound to 127.0.0.1 that sends requests and matches answers by transaction id. */
export class StunClient {
  private readonly socket: Socket;
  private readonly waiting = new Map<string, (m: StunMessage) => void>();
  private readonly relayed: Relayed[] = [];
  private relayedWaiter: (() => void) | undefined;

  private constructor(socket: Socket, readonly server: Address) {
    this.socket = socket;
    socket.on('message', (packet) => {
      const first = packet[0] ?? 0;
      if (first >= 0x40 && first <= 0x7f && packet.length >= 4) {
        this.queue({ channel: packet.readUInt16BE(0), data: packet.subarray(4, 4 + packet.readUInt16BE(2)) });
        return;
      }
      const message = decode(packet);
      if (!message) return;
      if (message.cls === 'indication') {
        if (message.method === Method.data) this.queue({ channel: undefined, data: attr(message, Attr.data) ?? Buffer.alloc(0) });
        return;
      }
      this.waiting.get(message.transactionId.toString('hex'))?.(message);
    });
  }

  private queue(item: Relayed): void {
    this.relayed.push(item);
    this.relayedWaiter?.();
  }

  /**
   * A client on a local port this process has not used before. coturn keeps a released
   * allocation valid until its next timer tick (about a second, measured), so a new socket the
   * kernel happens to give the port of a just-closed one would be answered 437 (allocation
   * mismatch) for an allocation that is not its own.
   */
  static async open(server: Address): Promise<StunClient> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const { port } = socket.address();
      if (!portsUsed.has(port)) {
        portsUsed.add(port);
        return new StunClient(socket, server);
      }
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    throw new Error('the kernel kept handing out local UDP ports this process had used already');
  }

  /** Sends `message` and resolves with its answer; resends every `resendMs` until `timeoutMs`. */
  async transact(message: StunMessage, auth?: LongTermAuth, timeoutMs = 3000, resendMs = 500): Promise<StunMessage> {
    const id = message.transactionId.toString('hex');
    const packet = encode(message, auth);
    try {
      return await new Promise<StunMessage>((resolve, reject) => {
        const started = Date.now();
        const send = () => this.socket.send(packet, this.server.port, this.server.address);
        const resend = setInterval(() => {
          if (Date.now() - started >= timeoutMs) {
            clearInterval(resend);
            reject(new Error(`no answer to STUN method 0x${message.method.toString(16)} from ${this.server.address}:${this.server.port} within ${timeoutMs} ms`));
          } else {
            send();
          }
        }, resendMs);
        this.waiting.set(id, (answer) => {
          clearInterval(resend);
          resolve(answer);
        });
        send();
      });
    } finally {
      this.waiting.delete(id);
    }
  }

  sendIndication(message: StunMessage): void {
    this.socket.send(encode(message), this.server.port, this.server.address);
  }

  /** The next data the relay forwards to us (Data indication or ChannelData), within `timeoutMs`. */
  nextRelayed(timeoutMs = 3000): Promise<Relayed> {
    const queued = this.relayed.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.relayedWaiter = undefined;
        reject(new Error(`nothing relayed to us within ${timeoutMs} ms`));
      }, timeoutMs);
      this.relayedWaiter = () => {
        clearTimeout(timer);
        this.relayedWaiter = undefined;
        resolve(this.relayed.shift() as Relayed);
      };
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * A TURN client session over one UDP socket with long-term credentials: it answers the 401
 * challenge and a 438 (stale nonce) by retrying once with the server's new nonce, as browsers do.
 */
export class TurnSession {
  private auth: LongTermAuth | undefined;
  /** Every stale-nonce (438) answer seen, for the record. */
  staleNonces = 0;

  private constructor(readonly client: StunClient, private readonly username: string, private readonly password: string) {}

  static async open(server: Address, username: string, password: string): Promise<TurnSession> {
    return new TurnSession(await StunClient.open(server), username, password);
  }

  /**
   * Sends an authenticated request; returns the final answer (success or error). `attributes`
   * is asked again for each attempt because an XOR address depends on the transaction id.
   */
  async send(method: number, attributes: (transactionId: Buffer) => StunAttribute[] = () => []): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const message = request(method);
      message.attributes.push(...attributes(message.transactionId));
      const answer = await this.client.transact(message, this.auth);
      const code = answer.cls === 'error' ? errorCode(answer) : undefined;
      const nonce = attr(answer, Attr.nonce)?.toString();
      const realm = attr(answer, Attr.realm)?.toString();
      // 401 without our credentials yet is the challenge; 438 is a new nonce. Retry with it.
      const challenge = code === 401 && this.auth === undefined;
      if ((challenge || code === 438) && nonce !== undefined) {
        if (code === 438) this.staleNonces++;
        this.auth = { username: this.username, password: this.password, realm: realm ?? this.auth?.realm ?? '', nonce };
        continue;
      }
      return answer;
    }
    throw new Error(`TURN method 0x${method.toString(16)}: the server kept challenging`);
  }

  /** Asks for a UDP relay; `family` 6 asks for an IPv6 relay (RFC 6156). */
  allocate(family: 4 | 6 = 4): Promise<StunMessage> {
    return this.send(Method.allocate, () => [
      { type: Attr.requestedTransport, value: Buffer.from([17, 0, 0, 0]) },
      ...(family === 6 ? [{ type: Attr.requestedAddressFamily, value: Buffer.from([0x02, 0, 0, 0]) }] : []),
    ]);
  }

  refresh(lifetimeSeconds: number): Promise<StunMessage> {
    return this.send(Method.refresh, () => [{ type: Attr.lifetime, value: u32(lifetimeSeconds) }]);
  }

  createPermission(peer: Address): Promise<StunMessage> {
    return this.send(Method.createPermission, (id) => [{ type: Attr.xorPeerAddress, value: xorAddress(peer, id) }]);
  }

  channelBind(channel: number, peer: Address): Promise<StunMessage> {
    const number = Buffer.alloc(4);
    number.writeUInt16BE(channel, 0);
    return this.send(Method.channelBind, (id) => [
      { type: Attr.channelNumber, value: number },
      { type: Attr.xorPeerAddress, value: xorAddress(peer, id) },
    ]);
  }

  /** A Send indication: the relay forwards `data` to `peer` (needs a permission). */
  sendData(peer: Address, data: Buffer): void {
    const message = indication(Method.send);
    message.attributes.push({ type: Attr.xorPeerAddress, value: xorAddress(peer, message.transactionId) }, { type: Attr.data, value: data });
    this.client.sendIndication(message);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** One STUN Binding round trip; resolves with the reflexive address. */
export async function stunBinding(server: Address, timeoutMs = 1000): Promise<Address | undefined> {
  const client = await StunClient.open(server);
  try {
    const answer = await client.transact(request(Method.binding), undefined, timeoutMs, 200);
    return readXorAddress(attr(answer, Attr.xorMappedAddress), answer.transactionId);
  } finally {
    await client.close();
  }
}

/** TURN REST credentials as coturn's `use-auth-secret` expects them. */
export function restCredential(secret: string, expiresAtSeconds: number, id: string): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}
