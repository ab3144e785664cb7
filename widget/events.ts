/**
 * The element's events: typed, bubbling, composed, `p2p-` prefixed, registered on
 * `HTMLElementEventMap` so `el.addEventListener('p2p-state-change', (e) => e.detail.state)`
 * is typed for host pages.
 */
import type { CallErrorCode, CallStats, MediaState, PeerLeftReason, RemoteMediaState } from '../sdk/index.js';

/** The element's states: the SDK's call states plus the lobby. */
export type P2PCallState =
  | 'idle'
  | 'preview'
  | 'joining'
  | 'waiting'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'ended'
  | 'error';

export interface P2PEventDetails {
  'p2p-state-change': { state: P2PCallState; previous: P2PCallState };
  'p2p-peer-join': { peerId: string; displayName?: string };
  'p2p-peer-leave': { peerId: string; reason: PeerLeftReason };
  'p2p-media-change': MediaState;
  'p2p-remote-media-change': RemoteMediaState;
  'p2p-message': { from: string; text: string };
  'p2p-stats': CallStats;
  /** `code`: one of the SDK's error codes (a newer server's unlisted code arrives non-fatal). */
  'p2p-error': { code: CallErrorCode; message: string; fatal: boolean };
  'p2p-speaking': { who: 'local' | 'remote'; speaking: boolean };
}

export type P2PEventName = keyof P2PEventDetails;

/** One class for every event: `detail` is typed by the event's name. */
export class P2PCallEvent<N extends P2PEventName = P2PEventName> extends CustomEvent<P2PEventDetails[N]> {
  constructor(name: N, detail: P2PEventDetails[N]) {
    super(name, { detail, bubbles: true, composed: true });
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-state-change': P2PCallEvent<'p2p-state-change'>;
    'p2p-peer-join': P2PCallEvent<'p2p-peer-join'>;
    'p2p-peer-leave': P2PCallEvent<'p2p-peer-leave'>;
    'p2p-media-change': P2PCallEvent<'p2p-media-change'>;
    'p2p-remote-media-change': P2PCallEvent<'p2p-remote-media-change'>;
    'p2p-message': P2PCallEvent<'p2p-message'>;
    'p2p-stats': P2PCallEvent<'p2p-stats'>;
    'p2p-error': P2PCallEvent<'p2p-error'>;
    'p2p-speaking': P2PCallEvent<'p2p-speaking'>;
  }
}
