/**
 * What the two peers' SDKs agree on: the `data` of relayed signals, and the messages on the
 * data channel. The server never looks inside either. Documented in docs/protocol.md.
 *
 * Every signal names the sender's *session*: one id per RTCPeerConnection. A page reload (same
 * seat by resume, new RTCPeerConnection) shows up as a new session, so the other side replaces
 * its connection instead of feeding it candidates from another session.
 */
import type { SignalData } from './protocol.js';

/** "I am here, and this is my current connection" (or `null`: I have none yet). */
export interface HelloSignal {
  kind: 'hello';
  session: string | null;
}

export interface DescriptionSignal {
  kind: 'description';
  session: string;
  description: { type: RTCSdpType; sdp: string };
}

export interface CandidateSignal {
  kind: 'candidate';
  session: string;
  candidate: RTCIceCandidateInit;
}

/** "I am giving up on this call": said before leaving when no network path was found. */
export interface ByeSignal {
  kind: 'bye';
  reason: 'ice-failed';
}

export type PeerSignal = HelloSignal | DescriptionSignal | CandidateSignal | ByeSignal;

const SDP_TYPES: readonly string[] = ['offer', 'answer', 'pranswer', 'rollback'];

/** Validates relayed `data` from the other peer; `undefined` for anything malformed. */
export function parsePeerSignal(data: SignalData): PeerSignal | undefined {
  const { kind, session } = data;
  switch (kind) {
    case 'hello':
      return session === null || typeof session === 'string' ? { kind, session } : undefined;
    case 'bye':
      return data['reason'] === 'ice-failed' ? { kind, reason: 'ice-failed' } : undefined;
    case 'description': {
      const description = data['description'] as Record<string, unknown> | undefined;
      if (typeof session !== 'string' || typeof description !== 'object' || description === null) return undefined;
      const { type, sdp } = description;
      if (typeof type !== 'string' || !SDP_TYPES.includes(type) || typeof sdp !== 'string') return undefined;
      return { kind, session, description: { type: type as RTCSdpType, sdp } };
    }
    case 'candidate': {
      const candidate = data['candidate'] as Record<string, unknown> | undefined;
      if (typeof session !== 'string' || typeof candidate !== 'object' || candidate === null) return undefined;
      if (typeof candidate['candidate'] !== 'string') return undefined;
      const init: RTCIceCandidateInit = { candidate: candidate['candidate'] };
      if (typeof candidate['sdpMid'] === 'string') init.sdpMid = candidate['sdpMid'];
      if (typeof candidate['sdpMLineIndex'] === 'number') init.sdpMLineIndex = candidate['sdpMLineIndex'];
      if (typeof candidate['usernameFragment'] === 'string') init.usernameFragment = candidate['usernameFragment'];
      return { kind, session, candidate: init };
    }
    default:
      return undefined;
  }
}

/** The local side's media state, as the other side sees it. */
export interface MediaState {
  microphone: boolean;
  camera: boolean;
  screen: boolean;
}

/**
 * Data channel messages: metadata, chat, hangup, `away` (the page is going away without hanging
 * up: closed or reloading) and `alive` (a heartbeat, so that a peer that sends no media still
 * shows that its packets arrive). Unknown messages are ignored, so older peers skip the last two.
 */
export type ChannelMessage =
  | ({ t: 'meta'; name?: string } & MediaState)
  | { t: 'chat'; text: string }
  | { t: 'hangup' }
  | { t: 'away' }
  | { t: 'alive' };

/** Longest chat message, in UTF-16 code units. */
export const MAX_CHAT_LENGTH = 4_000;
/** Longest display name. */
export const MAX_NAME_LENGTH = 80;

export function parseChannelMessage(raw: unknown): ChannelMessage | undefined {
  // JSON escaping can grow text up to six-fold (\u0000); the length that counts is checked after parsing.
  if (typeof raw !== 'string' || raw.length > MAX_CHAT_LENGTH * 6 + 256) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  switch (message['t']) {
    case 'meta': {
      const { microphone, camera, screen, name } = message;
      if (typeof microphone !== 'boolean' || typeof camera !== 'boolean' || typeof screen !== 'boolean') return undefined;
      const meta: ChannelMessage = { t: 'meta', microphone, camera, screen };
      if (typeof name === 'string') meta.name = name.slice(0, MAX_NAME_LENGTH);
      return meta;
    }
    case 'chat': {
      const text = message['text'];
      return typeof text === 'string' && text.length <= MAX_CHAT_LENGTH ? { t: 'chat', text } : undefined;
    }
    case 'hangup':
    case 'away':
    case 'alive':
      return { t: message['t'] };
    default:
      return undefined;
  }
}
