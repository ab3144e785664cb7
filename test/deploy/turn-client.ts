/**
 * Just enough of a TURN client (RFC 8656 over UDP, long-term credentials) to ask a coturn
 * instance for an allocation and for permissions: a permission for a denied peer address is
 * answered 403 without any packet being sent to that address, which lets a test check every
 * `denied-peer-ip` range of the shipped configuration while all traffic stays on loopback.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

const MAGIC_COOKIE = 0x2112a442;
const METHOD = { allocate: 0x003, refresh: 0x004, createPermission: 0x008 } as const;
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  requestedTransport: 0x0019,
} as const;
const UDP = 17;

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

function ipBytes(ip: IpNumber): Buffer {
  const size = ip.family === 4 ? 4 : 16;
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[size - 1 - i] = Number((ip.value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

interface Message {
  type: number;
  transactionId: Buffer;
  attributes: Map<number, Buffer>;
}

function encode(type: number, transactionId: Buffer, attributes: Array<[number, Buffer]>, key?: Buffer): Buffer {
  const body = Buffer.concat(attributes.map(([attrType, value]) => {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(attrType, 0);
    header.writeUInt16BE(value.length, 2);
    return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  }));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  if (key === undefined) {
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  // MESSAGE-INTEGRITY covers everything before it, with the length already counting it.
  header.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac('sha1', key).update(Buffer.concat([header, body])).digest();
  const miHeader = Buffer.alloc(4);
  miHeader.writeUInt16BE(ATTR.messageIntegrity, 0);
  miHeader.writeUInt16BE(20, 2);
  return Buffer.concat([header, body, miHeader, mac]);
}

function decode(packet: Buffer): Message | undefined {
  if (packet.length < 20 || packet.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const attributes = new Map<number, Buffer>();
  let offset = 20;
  const end = 20 + packet.readUInt16BE(2);
  while (offset + 4 <= end && offset + 4 <= packet.length) {
    const attrType = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    if (!attributes.has(attrType)) attributes.set(attrType, packet.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: packet.readUInt16BE(0), transactionId: packet.subarray(8, 20), attributes };
}

function xorAddress(ip: IpNumber, port: number, transactionId: Buffer): Buffer {
  const value = Buffer.alloc(ip.family === 4 ? 8 : 20);
  value[1] = ip.family === 4 ? 0x01 : 0x02;
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  const address = ipBytes(ip);
  for (let i = 0; i < address.length; i++) value[4 + i] = (address[i] as number) ^ (mask[i] as number);
  return value;
}

function readXorAddress(value: Buffer, transactionId: Buffer): { address: string; port: number } {
  const family = value[1] === 0x01 ? 4 : 6;
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  let number = 0n;
  for (let i = 0; i < (family === 4 ? 4 : 16); i++) number = (number << 8n) | BigInt((value[4 + i] as number) ^ (mask[i] as number));
  return { address: formatIp({ family, value: number }), port };
}

/** The STUN error code of a response, or 200 for a success response. */
function statusOf(message: Message): number {
  if ((message.type & 0x0110) === 0x0100) return 200;
  const error = message.attributes.get(ATTR.errorCode);
  if (error === undefined || error.length < 4) return 0;
  return (error[2] as number & 0x7) * 100 + (error[3] as number);
}

/**
 * One allocation on one UDP socket. `allocate()` does the 401 challenge round; afterwards
 * `createPermission(ip)` answers the STUN status (200, 403 for a denied peer, ...).
 */
export class TurnClient {
  private readonly socket: Socket;
  private readonly pending = new Map<string, (message: Message) => void>();
  private key: Buffer | undefined;
  private realm: Buffer = Buffer.alloc(0);
  private nonce: Buffer = Buffer.alloc(0);

  constructor(
    private readonly server: { host: string; port: number },
    private readonly username: string,
    private readonly password: string,
  ) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (packet) => {
      const message = decode(packet);
      if (message === undefined) return;
      const id = message.transactionId.toString('hex');
      this.pending.get(id)?.(message);
      this.pending.delete(id);
    });
  }

  /** Allocates a UDP relay of `family`; resolves with the relayed address coturn reports. */
  async allocate(family: 4 | 6 = 4): Promise<{ address: string; port: number }> {
    const attrs: Array<[number, Buffer]> = [[ATTR.requestedTransport, Buffer.from([UDP, 0, 0, 0])]];
    if (family === 6) attrs.push([ATTR.requestedAddressFamily, Buffer.from([0x02, 0, 0, 0])]);
    const challenge = await this.request(METHOD.allocate, attrs, false);
    if (statusOf(challenge) !== 401) throw new Error(`expected a 401 challenge, got ${statusOf(challenge)}`);
    this.realm = challenge.attributes.get(ATTR.realm) ?? Buffer.alloc(0);
    this.nonce = challenge.attributes.get(ATTR.nonce) ?? Buffer.alloc(0);
    this.key = createHash('md5').update(`${this.username}:${this.realm.toString()}:${this.password}`).digest();
    const answer = await this.request(METHOD.allocate, attrs, true);
    const status = statusOf(answer);
    if (status !== 200) throw new TurnError(status, `Allocate failed with ${status}`);
    const relayed = answer.attributes.get(ATTR.xorRelayedAddress);
    if (relayed === undefined) throw new Error('Allocate success without XOR-RELAYED-ADDRESS');
    return readXorAddress(relayed, answer.transactionId);
  }

  /** Asks for a permission towards `ip`; resolves with the STUN status (200 = granted). */
  async createPermission(ip: string): Promise<number> {
    const transactionId = randomBytes(12);
    const peer = xorAddress(parseIp(ip), 0, transactionId);
    const answer = await this.request(METHOD.createPermission, [[ATTR.xorPeerAddress, peer]], true, transactionId);
    return statusOf(answer);
  }

  /** Releases the allocation (Refresh with lifetime 0) and closes the socket. */
  async close(): Promise<void> {
    try {
      if (this.key !== undefined) await this.request(METHOD.refresh, [[ATTR.lifetime, Buffer.from([0, 0, 0, 0])]], true);
    } catch {
      // The allocation times out on its own; the socket closes regardless.
    } finally {
      this.socket.close();
    }
  }

  private async request(method: number, attrs: Array<[number, Buffer]>, authenticated: boolean, transactionId: Buffer = randomBytes(12)): Promise<Message> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const message = await this.send(method, attrs, authenticated, transactionId);
      // A stale nonce (438) carries a fresh one: retry once with it.
      if (statusOf(message) !== 438) return message;
      this.nonce = message.attributes.get(ATTR.nonce) ?? this.nonce;
      transactionId = randomBytes(12);
    }
    throw new Error('nonce kept going stale');
  }

  private send(method: number, attrs: Array<[number, Buffer]>, authenticated: boolean, transactionId: Buffer): Promise<Message> {
    const all: Array<[number, Buffer]> = authenticated
      ? [[ATTR.username, Buffer.from(this.username)], [ATTR.realm, this.realm], [ATTR.nonce, this.nonce], ...attrs]
      : attrs;
    const packet = encode(method, transactionId, all, authenticated ? this.key : undefined);
    const id = transactionId.toString('hex');
    return new Promise<Message>((resolve, reject) => {
      let tries = 0;
      const timer = setInterval(() => {
        if (++tries > 4) {
          clearInterval(timer);
          this.pending.delete(id);
          reject(new Error(`no answer from TURN server ${this.server.host}:${this.server.port}`));
          return;
        }
        this.socket.send(packet, this.server.port, this.server.host); // UDP: retransmit
      }, 500);
      this.pending.set(id, (message) => {
        clearInterval(timer);
        resolve(message);
      });
      this.socket.send(packet, this.server.port, this.server.host);
    });
  }
}

export class TurnError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
