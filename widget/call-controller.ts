/**
 * Binds the element to one SDK `Call` at a time: creates it on join, mirrors what the UI
 * needs (streams, media state, the other side, stats, chat), re-dispatches the SDK's events as
 * the element's DOM events, and tears everything down on hangup or when the element leaves
 * the page.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Call, CallError, type CallOptions, type CallState, type CallStats, type MediaState, type RemoteMediaState } from '../sdk/index.js';
import { P2PCallEvent, type P2PEventDetails, type P2PEventName } from './events.js';

export interface ChatLine {
  from: 'me' | 'them';
  text: string;
  at: number;
}

/** What the controller needs from its element. */
export interface CallHost extends ReactiveControllerHost, EventTarget {
  /** The SDK's state changed (the element maps it onto its own states). */
  callStateChanged(state: CallState): void;
  /** A fatal or non-fatal error to show. */
  callError(error: CallError): void;
}

/** Chat history kept for the panel; older lines scroll away. */
const MAX_CHAT_LINES = 200;

export class CallController implements ReactiveController {
  call: Call | undefined;
  localStream: MediaStream | undefined;
  remoteStream: MediaStream | undefined;
  media: MediaState = { microphone: false, camera: false, screen: false };
  remote: RemoteMediaState | undefined;
  stats: CallStats | undefined;
  chat: ChatLine[] = [];
  /** The other side is gone for now (page closed or reloading, network lost); its seat is held. */
  peerAbsent = false;
  private offs: Array<() => void> = [];

  constructor(private readonly host: CallHost) {
    host.addController(this);
  }

  hostDisconnected(): void {
    // Removal from the page ends the call; a move within the page is handled by the element.
  }

  /** Starts a new call (ending any previous one) and resolves once seated. */
  async join(options: CallOptions): Promise<void> {
    this.end();
    const call = new Call(options);
    this.call = call;
    const on = call.on.bind(call) as Call['on'];
    this.offs.push(
      on('state', ({ state }) => this.host.callStateChanged(state)),
      on('local-stream', (stream) => this.update(() => (this.localStream = stream))),
      on('remote-stream', (stream) => this.update(() => (this.remoteStream = stream))),
      on('media-change', (state) => {
        this.update(() => (this.media = state));
        this.dispatch('p2p-media-change', state);
      }),
      on('remote-media-change', (state) => {
        this.update(() => (this.remote = state));
        this.dispatch('p2p-remote-media-change', state);
      }),
      on('peer-join', (detail) => this.dispatch('p2p-peer-join', detail)),
      on('peer-disconnected', () => this.update(() => (this.peerAbsent = true))),
      on('peer-reconnected', () => this.update(() => (this.peerAbsent = false))),
      on('peer-leave', (detail) => {
        this.update(() => {
          this.peerAbsent = false;
          this.remote = undefined;
          this.remoteStream = undefined;
          this.stats = undefined;
        });
        this.dispatch('p2p-peer-leave', detail);
      }),
      on('message', ({ from, text }) => {
        this.addChat({ from: 'them', text, at: Date.now() });
        this.dispatch('p2p-message', { from, text });
      }),
      on('stats', (stats) => {
        this.update(() => (this.stats = stats));
        this.dispatch('p2p-stats', stats);
      }),
      on('error', (error) => this.host.callError(error)),
    );
    await call.join();
    if (this.call !== call) return; // a newer call (or none) replaced this one meanwhile
    this.update(() => (this.media = call.mediaState));
  }

  /** Hangs up and releases every device; safe to call at any time. */
  hangup(): void {
    this.call?.hangup();
    this.end();
  }

  sendMessage(text: string): void {
    if (!this.call) throw new CallError('not-joined', 'join a call before sending messages', { fatal: false });
    this.call.sendMessage(text);
    this.addChat({ from: 'me', text, at: Date.now() });
  }

  /** Forgets the current call (after hangup or a fatal error); listeners and streams go. */
  end(): void {
    for (const off of this.offs.splice(0)) off();
    this.call?.hangup();
    this.call = undefined;
    this.localStream = this.remoteStream = this.remote = this.stats = undefined;
    this.peerAbsent = false;
    this.media = { microphone: false, camera: false, screen: false };
    this.chat = [];
    this.host.requestUpdate();
  }

  dispatch<N extends P2PEventName>(name: N, detail: P2PEventDetails[N]): void {
    this.host.dispatchEvent(new P2PCallEvent(name, detail));
  }

  private addChat(line: ChatLine): void {
    this.update(() => (this.chat = [...this.chat, line].slice(-MAX_CHAT_LINES)));
  }

  private update(change: () => void): void {
    change();
    this.host.requestUpdate();
  }
}
