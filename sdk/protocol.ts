/**
 * Signaling protocol v1: the wire contract between the SDK and the signaling server.
 *
 * Every frame is one JSON object. This module declares each message of both directions as a
 * discriminated union on `type` and validates untrusted values into those types. The server
 * imports it; nothing else re-declares the messages. It has no dependencies (beyond a one-line
 * helper beside it) and no side effects so that it tree-shakes into the browser bundle.
 * Spec: docs/protocol.md.
 */

import { assertNever } from './assert-never.js';

/** WebSocket subprotocol names, newest last. The server selects the highest one offered. */
export const PROTOCOL_V1 = 'p2p-call.v1';
export const SUPPORTED_PROTOCOLS = [PROTOCOL_V1] as const;
export type ProtocolName = (typeof SUPPORTED_PROTOCOLS)[number];

/** Path of the WebSocket endpoint on the server's HTTP port. */
export const SIGNALING_PATH = '/ws';
/** Path of the health endpoint the SDK reads to diagnose a refused handshake. */
export const HEALTH_PATH = '/healthz';

/** Room ids: 1–64 of `[A-Za-z0-9_-]`. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Deepest nesting of objects and arrays inside a signal's `data` (the object itself is level 1).
 * WebRTC signals nest three levels; the bound keeps every relay re-encodable, so a signal is
 * either delivered or refused with a reason, never lost.
 */
export const MAX_DATA_DEPTH = 32;

/** At most this many signals are queued for a seat that is held (its peer dropped). */
export const MAX_QUEUED_SIGNALS = 64;

// ---------------------------------------------------------------------------------------------
// Client → server

export interface JoinMessage {
  type: 'join';
  room: string;
  token?: string;
  resume?: string;
}

export interface ClientSignalMessage {
  type: 'signal';
  /** Opaque to the server; relayed unmodified. */
  data: SignalData;
}

export interface LeaveMessage {
  type: 'leave';
}

export interface PingMessage {
  type: 'ping';
}

export type ClientMessage = JoinMessage | ClientSignalMessage | LeaveMessage | PingMessage;
export type ClientMessageType = ClientMessage['type'];

/** A JSON object; what the peers put in it is their own agreement (see docs/protocol.md). */
export type SignalData = { [key: string]: unknown };

// ---------------------------------------------------------------------------------------------
// Server → client

/** The subset of RTCIceServer the server sends, declared here so the server needs no DOM types. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface JoinedMessage {
  type: 'joined';
  room: string;
  peerId: string;
  /** peerIds of the other seat, live or held: `[]` or one id. */
  peers: string[];
  polite: boolean;
  iceServers: IceServer[];
  /** Single-use value that takes this seat back after a drop. */
  resume: string;
  /** How long the server holds this seat after a drop, in milliseconds. */
  graceMs: number;
}

export interface PeerJoinedMessage {
  type: 'peer-joined';
  peerId: string;
}

export interface ServerSignalMessage {
  type: 'signal';
  from: string;
  data: SignalData;
}

export interface PeerDisconnectedMessage {
  type: 'peer-disconnected';
  peerId: string;
}

export interface PeerReconnectedMessage {
  type: 'peer-reconnected';
  peerId: string;
}

export const PEER_LEFT_REASONS = ['hangup', 'timeout'] as const;
export type PeerLeftReason = (typeof PEER_LEFT_REASONS)[number];

export interface PeerLeftMessage {
  type: 'peer-left';
  peerId: string;
  reason: PeerLeftReason;
}

/** The closed list of error codes a v1 server sends in `error` frames. */
export const ERROR_CODES = [
  'invalid-message',
  'already-joined',
  'room-full',
  'not-in-room',
  'peer-absent',
  'invalid-resume',
  'unauthorized',
  'rate-limited',
  'server-busy',
  'session-replaced',
  'server-shutdown',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorMessage {
  type: 'error';
  /** One of {@link ERROR_CODES}; a client treats any other string as a non-fatal unknown. */
  code: string;
  message: string;
  /** `type` of the client message that caused it, when it had a known one. */
  ref?: ClientMessageType;
  retryAfterMs?: number;
}

export interface PongMessage {
  type: 'pong';
}

export type ServerMessage =
  | JoinedMessage
  | PeerJoinedMessage
  | ServerSignalMessage
  | PeerDisconnectedMessage
  | PeerReconnectedMessage
  | PeerLeftMessage
  | ErrorMessage
  | PongMessage;
export type ServerMessageType = ServerMessage['type'];

// ---------------------------------------------------------------------------------------------
// Close codes and HTTP refusals

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  sessionReplaced: 4001,
} as const;

/** JSON body of an HTTP refusal at upgrade (403, 426, 503). */
export interface UpgradeRefusal {
  error: 'unsupported-protocol' | 'forbidden-origin' | 'server-busy';
  supported?: string[];
}

/** Body of `GET /healthz`. */
export interface HealthResponse {
  /** False (with HTTP 503) while the node cannot serve joins, e.g. its room store is unreachable. */
  ok: boolean;
  protocols: string[];
  /** Where rooms live: `memory` (one node), or the shared store's state, `up` or `down`. */
  store?: 'memory' | 'up' | 'down';
  /** The answering node's id (it also appears in its logs and metrics). */
  node?: string;
}

// ---------------------------------------------------------------------------------------------
// Validation: untrusted JSON in, typed message or a precise reason out.

export type ParseResult<T> = { ok: true; message: T } | { ok: false; reason: string; ref?: ClientMessageType };

const CLIENT_TYPES: readonly ClientMessageType[] = ['join', 'signal', 'leave', 'ping'];

/** Parses one text frame as JSON; never throws. */
export function parseFrame(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // Also catches RangeError from pathologically deep nesting.
    return { ok: false, reason: 'frame is not valid JSON' };
  }
}

/**
 * Turns a parsed frame from a client into a typed message. Unknown extra fields are ignored and
 * not copied, so nothing the sender adds (e.g. `__proto__` keys) travels further.
 */
export function parseClientMessage(value: unknown): ParseResult<ClientMessage> {
  if (!isPlainObject(value)) return fail('message must be a JSON object');
  const type = value['type'];
  if (typeof type !== 'string') return fail('field "type" must be a string');
  if (!isOneOf(type, CLIENT_TYPES)) return fail(`unknown message type "${truncate(type)}"`);
  switch (type) {
    case 'join': {
      const room = value['room'];
      if (typeof room !== 'string') return fail('field "room" must be a string', type);
      if (!ROOM_ID_PATTERN.test(room)) return fail('field "room" must be 1-64 of [A-Za-z0-9_-]', type);
      const message: JoinMessage = { type, room };
      const token = value['token'];
      if (token !== undefined) {
        if (typeof token !== 'string') return fail('field "token" must be a string', type);
        message.token = token;
      }
      const resume = value['resume'];
      if (resume !== undefined) {
        if (typeof resume !== 'string') return fail('field "resume" must be a string', type);
        message.resume = resume;
      }
      return { ok: true, message };
    }
    case 'signal': {
      const data = value['data'];
      if (!isPlainObject(data)) return fail('field "data" must be a JSON object', type);
      const problem = relayProblem(data, MAX_DATA_DEPTH);
      if (problem !== undefined) return fail(`field "data" ${problem}`, type);
      return { ok: true, message: { type, data } };
    }
    case 'leave':
    case 'ping':
      return { ok: true, message: { type } };
    default:
      return assertNever(type);
  }
}

/** Turns a parsed frame from the server into a typed message (used by the SDK). */
export function parseServerMessage(value: unknown): ParseResult<ServerMessage> {
  if (!isPlainObject(value)) return fail('message must be a JSON object');
  const type = value['type'];
  if (typeof type !== 'string') return fail('field "type" must be a string');
  switch (type) {
    case 'joined': {
      const { room, peerId, peers, polite, iceServers, resume, graceMs } = value;
      if (typeof room !== 'string') return fail('joined.room must be a string');
      if (typeof peerId !== 'string') return fail('joined.peerId must be a string');
      if (!isStringArray(peers)) return fail('joined.peers must be an array of strings');
      if (typeof polite !== 'boolean') return fail('joined.polite must be a boolean');
      if (!Array.isArray(iceServers) || !iceServers.every(isIceServer)) {
        return fail('joined.iceServers must be an array of ICE servers');
      }
      if (typeof resume !== 'string') return fail('joined.resume must be a string');
      if (!isNonNegativeNumber(graceMs)) return fail('joined.graceMs must be a non-negative number');
      return {
        ok: true,
        message: { type, room, peerId, peers: [...peers], polite, iceServers: iceServers.map(copyIceServer), resume, graceMs },
      };
    }
    case 'peer-joined':
    case 'peer-disconnected':
    case 'peer-reconnected': {
      const peerId = value['peerId'];
      if (typeof peerId !== 'string') return fail(`${type}.peerId must be a string`);
      return { ok: true, message: { type, peerId } };
    }
    case 'peer-left': {
      const { peerId, reason } = value;
      if (typeof peerId !== 'string') return fail('peer-left.peerId must be a string');
      if (typeof reason !== 'string' || !isOneOf(reason, PEER_LEFT_REASONS)) {
        return fail('peer-left.reason must be "hangup" or "timeout"');
      }
      return { ok: true, message: { type, peerId, reason } };
    }
    case 'signal': {
      const { from, data } = value;
      if (typeof from !== 'string') return fail('signal.from must be a string');
      if (!isPlainObject(data)) return fail('signal.data must be a JSON object');
      return { ok: true, message: { type, from, data } };
    }
    case 'error': {
      const { code, message, ref, retryAfterMs } = value;
      if (typeof code !== 'string') return fail('error.code must be a string');
      if (typeof message !== 'string') return fail('error.message must be a string');
      const error: ErrorMessage = { type, code, message };
      if (typeof ref === 'string' && isOneOf(ref, CLIENT_TYPES)) error.ref = ref;
      if (retryAfterMs !== undefined) {
        if (!isNonNegativeNumber(retryAfterMs)) return fail('error.retryAfterMs must be a non-negative number');
        error.retryAfterMs = retryAfterMs;
      }
      return { ok: true, message: error };
    }
    case 'pong':
      return { ok: true, message: { type } };
    default:
      // Within v1 a server may add message types; the client ignores what it does not know.
      return fail(`unknown message type "${truncate(type)}"`);
  }
}

/** True when `code` is one of the v1 error codes (clients treat others as non-fatal). */
export function isKnownErrorCode(code: string): code is ErrorCode {
  return isOneOf(code, ERROR_CODES);
}

/** Chooses the subprotocol to speak from a `Sec-WebSocket-Protocol` offer, or `undefined`. */
export function selectProtocol(offered: Iterable<string>): ProtocolName | undefined {
  let best: ProtocolName | undefined;
  for (const name of offered) {
    const index = SUPPORTED_PROTOCOLS.indexOf(name as ProtocolName);
    if (index >= 0 && (best === undefined || index > SUPPORTED_PROTOCOLS.indexOf(best))) {
      best = SUPPORTED_PROTOCOLS[index];
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function fail(reason: string, ref?: ClientMessageType): { ok: false; reason: string; ref?: ClientMessageType } {
  return ref === undefined ? { ok: false, reason } : { ok: false, reason, ref };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOneOf<T extends string>(value: string, list: readonly T[]): value is T {
  return (list as readonly string[]).includes(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isIceServer(value: unknown): value is IceServer {
  if (!isPlainObject(value)) return false;
  const { urls, username, credential } = value;
  const urlsOk = typeof urls === 'string' || isStringArray(urls);
  return urlsOk && (username === undefined || typeof username === 'string') &&
    (credential === undefined || typeof credential === 'string');
}

function copyIceServer(server: IceServer): IceServer {
  const copy: IceServer = { urls: Array.isArray(server.urls) ? [...server.urls] : server.urls };
  if (server.username !== undefined) copy.username = server.username;
  if (server.credential !== undefined) copy.credential = server.credential;
  return copy;
}

/**
 * Why `value` could not be relayed exactly as sent, if it could not: nesting deeper than
 * `limit` (the re-encoding would overflow the stack) or a number JSON cannot carry (`1e400`
 * parses to Infinity, which would be re-encoded as `null`). Iterative, so no input can blow
 * the stack.
 */
function relayProblem(value: object, limit: number): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node === 'number' && !Number.isFinite(node)) return 'holds a number outside the range JSON can carry';
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return `nests deeper than ${limit} levels`;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return undefined;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
