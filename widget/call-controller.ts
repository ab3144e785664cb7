/**
 * Binds the element to one SDK `Call` at a time: creates it on join, keeps what the UI shows
 * (streams, media state, the other side and whether they are here, stats, chat and its unread
 * count, who is speaking), re-dispatches the SDK's events as the element's DOM events, and
 * tears everything down on hangup or when the element leaves the page. The element renders
 * from this state; it never listens to its own events.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Call, CallError, type CallOptions, type CallState, type CallStats, type MediaState, type RemoteMediaState } from '../sdk/index.js';
import { watchLevel } from './audio-level.js';
import { P2PCallEvent, type P2PEventDetails, type P2PEventName } from './events.js';

export interface ChatLine {
  from: 'me' | 'them';
  /** The sender's display name when known. */
  name: string | undefined;
  text: string;
  at: number;
}

/** What the controller needs from its element. */
export interface CallHost extends ReactiveControllerHost, EventTarget {
  /** The SDK's state changed (the element maps it onto its own states). */
  callStateChanged(state: CallState): void;
  /** A fatal or non-fatal error to show. */
  callError(error: CallError): void;
  /** This side's microphone/camera/screen changed (toolbar, shortcut, a device that failed). */
  mediaChanged(state: MediaState): void;
}

/** Chat history kept for the panel; older lines scroll away. */
const MAX_CHAT_LINES = 200;
/** Speaking starts above this level and ends after a quiet spell below QUIET. */
const SPEAKING = 0.12;
const QUIET = 0.05;
const QUIET_MS = 700;

export class CallController implements ReactiveController {
  call: Call | undefined;
  localStream: MediaStream | undefined;
  remoteStream: MediaStream | undefined;
  media: MediaState = { microphone: false, camera: false, screen: false };
  remote: RemoteMediaState | undefined;
  /** The other person is in the room (between p2p-peer-join and p2p-peer-leave). */
  peerPresent = false;
  /** The other person left and nobody has joined since. */
  peerLeft = false;
  stats: CallStats | undefined;
  chat: ChatLine[] = [];
  /** Whether the chat panel is open: messages arriving then are read at once. Set by the element. */
  chatOpen = false;
  unread = 0;
  /** Messages received since the last state change (the live region announces the latest). */
  heard = 0;
  speaking = { local: false, remote: false };
  /** The other side is gone for now (page closed or reloading, network lost); its seat is held. */
  peerAbsent = false;
  private offs: Array<() => void> = [];
  private meters: Partial<Record<'local' | 'remote', { stream: MediaStream; stop: () => void }>> = {};

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
      on('state', ({ state }) => {
        this.heard = 0;
        this.host.callStateChanged(state);
      }),
      on('local-stream', (stream) => this.update(() => (this.localStream = stream))),
      on('remote-stream', (stream) => this.update(() => (this.remoteStream = stream))),
      on('media-change', (state) => {
        this.update(() => (this.media = state));
        this.host.mediaChanged(state);
        this.dispatch('p2p-media-change', state);
      }),
      on('remote-media-change', (state) => {
        this.update(() => (this.remote = state));
        this.dispatch('p2p-remote-media-change', state);
      }),
      on('peer-join', (detail) => {
        this.update(() => {
          this.peerPresent = true;
          this.peerLeft = false;
        });
        this.dispatch('p2p-peer-join', detail);
      }),
      on('peer-disconnected', () => this.update(() => (this.peerAbsent = true))),
      on('peer-reconnected', () => this.update(() => (this.peerAbsent = false))),
      on('peer-leave', (detail) => {
        this.update(() => {
          this.peerPresent = false;
          this.peerLeft = true;
          this.peerAbsent = false;
          this.remote = this.remoteStream = this.stats = undefined;
        });
        this.dispatch('p2p-peer-leave', detail);
      }),
      on('message', ({ from, text }) => {
        this.addChat({ from: 'them', name: this.remote?.displayName, text, at: Date.now() });
        this.update(() => {
          if (!this.chatOpen) this.unread++;
          this.heard++;
        });
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

  sendMessage(text: string, name: string | undefined): void {
    if (!this.call) throw new CallError('not-joined', 'join a call before sending messages', { fatal: false });
    this.call.sendMessage(text);
    this.addChat({ from: 'me', name, text, at: Date.now() });
  }

  /** The chat panel opened or closed. */
  setChatOpen(open: boolean): void {
    this.chatOpen = open;
    if (open) this.unread = 0;
    this.host.requestUpdate();
  }

  /** Forgets the current call (after hangup or a fatal error); listeners, meters and streams go. */
  end(): void {
    for (const off of this.offs.splice(0)) off();
    this.call?.hangup();
    this.call = undefined;
    this.localStream = this.remoteStream = this.remote = this.stats = undefined;
    this.media = { microphone: false, camera: false, screen: false };
    this.chat = [];
    this.chatOpen = this.peerPresent = this.peerLeft = this.peerAbsent = false;
    this.unread = this.heard = 0;
    this.watch('local', undefined);
    this.watch('remote', undefined);
    this.host.requestUpdate();
  }

  /** Called after each render: keeps a level meter on the streams being shown. */
  hostUpdated(): void {
    this.watch('local', this.localStream);
    this.watch('remote', this.remoteStream);
  }

  dispatch<N extends P2PEventName>(name: N, detail: P2PEventDetails[N]): void {
    this.host.dispatchEvent(new P2PCallEvent(name, detail));
  }

  /** Emits `p2p-speaking` when a side starts or stops speaking (the microphone must be on). */
  private watch(who: 'local' | 'remote', stream: MediaStream | undefined): void {
    const meter = this.meters[who];
    if (meter?.stream === stream) return;
    meter?.stop();
    delete this.meters[who];
    this.setSpeaking(who, false);
    if (!stream) return;
    let quietSince = 0;
    const stop = watchLevel(stream, (level) => {
      const on = who === 'local' ? this.media.microphone : this.remote?.microphone !== false;
      if (on && level > SPEAKING) {
        quietSince = 0;
        this.setSpeaking(who, true);
      } else if (!on || level < QUIET) {
        quietSince ||= Date.now();
        if (!on || Date.now() - quietSince > QUIET_MS) this.setSpeaking(who, false);
      }
    }, 100);
    this.meters[who] = { stream, stop };
  }

  private setSpeaking(who: 'local' | 'remote', speaking: boolean): void {
    if (this.speaking[who] === speaking) return;
    this.speaking = { ...this.speaking, [who]: speaking };
    this.host.requestUpdate();
    this.dispatch('p2p-speaking', { who, speaking });
  }

  private addChat(line: ChatLine): void {
    this.update(() => (this.chat = [...this.chat, line].slice(-MAX_CHAT_LINES)));
  }

  private update(change: () => void): void {
    change();
    this.host.requestUpdate();
  }
}
