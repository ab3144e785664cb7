/**
 * A one-to-one call: signaling, local media, the peer connection and their recovery, behind
 * one `state` and typed events.
 *
 * Who talks to whom: whenever a side learns the other is present (its own `joined`, or
 * `peer-joined` / `peer-reconnected`) it says `hello` with its current session id. The
 * impolite side starts a new session when the other has none or a different one, and keeps
 * the running one when the ids match: so a page reload rebuilds the connection, while a
 * signaling blip or a server restart leaves the media flowing untouched.
 */
import { assertNever } from './assert-never.js';
import { isFinalState, type CallState } from './call-state.js';
import { StatsSampler, type CallStats } from './connection-stats.js';
import { CallError } from './errors.js';
import { Emitter } from './emitter.js';
import { LocalMedia, type LocalMediaOptions } from './local-media.js';
import { MAX_CHAT_LENGTH, parsePeerSignal, type ChannelMessage, type MediaState, type PeerSignal } from './peer-messages.js';
import { PeerSession } from './peer-session.js';
import type { IceServer, PeerLeftReason } from './protocol.js';
import { SignalingClient, type SignalingClientOptions, type SignalingState } from './signaling-client.js';

export interface CallOptions {
  /** Signaling WebSocket URL, e.g. `wss://calls.example.com/ws`. */
  server: string;
  room: string;
  /** Join token (JWT) when the server requires one. */
  token?: string;
  /** The host page's ICE servers, used together with those the server sends. */
  iceServers?: RTCIceServer[];
  /** `relay` never reveals local addresses (TURN only). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  media?: LocalMediaOptions;
  /** Shown to the other side. */
  displayName?: string;
  /** How long ICE may take to connect, or to reconnect, before the call fails with `ice-failed`. */
  iceTimeoutMs?: number;
  /** ICE `disconnected` for this long triggers an ICE restart (`failed` triggers one at once). */
  disconnectedTimeoutMs?: number;
  /** Period of `stats` events while connected. */
  statsIntervalMs?: number;
  /** Passed to the {@link SignalingClient} (timeouts, reconnect policy, storage, WebSocket). */
  signaling?: Omit<SignalingClientOptions, 'url' | 'room' | 'token'>;
}

export interface RemoteMediaState extends MediaState {
  displayName?: string;
}

export interface CallEvents {
  state: { state: CallState; previous: CallState };
  'peer-join': { peerId: string; displayName?: string };
  'peer-leave': { peerId: string; reason: PeerLeftReason };
  /** The other side's signaling dropped; its seat is held and media may still flow. */
  'peer-disconnected': { peerId: string };
  'peer-reconnected': { peerId: string };
  /** The signaling connection's own state (a drop here alone does not interrupt media). */
  'signaling-state': SignalingState;
  'local-stream': MediaStream;
  'remote-stream': MediaStream;
  'media-change': MediaState;
  'remote-media-change': RemoteMediaState;
  message: { from: string; text: string };
  stats: CallStats;
  error: CallError;
}

/** Chat messages kept while the data channel is not open yet. */
const MAX_CHANNEL_BACKLOG = 50;

const DEFAULTS = {
  iceTimeoutMs: 20_000,
  disconnectedTimeoutMs: 2_000,
  statsIntervalMs: 2_000,
};

export class Call extends Emitter<CallEvents> {
  private _state: CallState = 'idle';
  private readonly options: CallOptions & typeof DEFAULTS;
  private signaling: SignalingClient | undefined;
  private media: LocalMedia | undefined;
  private session: PeerSession | undefined;
  private remotePeerId: string | undefined;
  private remoteMedia: RemoteMediaState | undefined;
  private serverIceServers: IceServer[] = [];
  private polite = false;
  private seated = false;
  /** Media flowed with the present peer at some point: losing it now is a reconnect, not a first connect. */
  private hadMediaWithPeer = false;
  /** Bumped by every join and hangup, so late async work from an older run does nothing. */
  private run = 0;
  private iceTimer: ReturnType<typeof setTimeout> | undefined;
  private disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private joining: Promise<void> | undefined;
  private cleanups: Array<() => void> = [];
  /** Chat written before the data channel opened; sent when it does. */
  private channelBacklog: ChannelMessage[] = [];

  constructor(options: CallOptions) {
    super();
    if (typeof options.server !== 'string' || options.server === '') throw new TypeError('Call: options.server (a ws:/wss: URL) is required');
    if (typeof options.room !== 'string' || options.room === '') throw new TypeError('Call: options.room is required');
    this.options = { ...DEFAULTS, ...options };
  }

  get state(): CallState {
    return this._state;
  }

  /** Our own microphone/camera/screen, once `join()` has opened them. */
  get localStream(): MediaStream | undefined {
    return this.media?.stream;
  }

  get remoteStream(): MediaStream | undefined {
    return this.session?.remoteStream;
  }

  get mediaState(): MediaState {
    return this.media?.state ?? { microphone: false, camera: false, screen: false };
  }

  get remoteMediaState(): RemoteMediaState | undefined {
    return this.remoteMedia;
  }

  get signalingState(): SignalingState {
    return this.signaling?.state ?? 'idle';
  }

  get peerId(): string | undefined {
    return this.signaling?.joined?.peerId;
  }

  get remotePeer(): string | undefined {
    return this.remotePeerId;
  }

  /**
   * Opens camera and microphone (failures are non-fatal: the call goes on receive-only), takes a
   * seat, and resolves once seated (`waiting` or `connecting`). Rejects with a fatal
   * {@link CallError}. A second call while joining or joined returns the same promise.
   */
  join(): Promise<void> {
    if (this.joining && !isFinalState(this._state)) return this.joining;
    const run = ++this.run;
    this.joining = this.start(run);
    return this.joining;
  }

  /** Ends the call: tells the other side at once, releases every device. Idempotent. */
  hangup(): void {
    if (this._state === 'idle' || isFinalState(this._state)) return;
    this.run++;
    this.session?.sendChannel({ t: 'hangup' });
    this.leaveRoom();
    this.setState('ended');
  }

  async setMicrophone(on: boolean): Promise<void> {
    await this.media?.setMicrophone(on);
  }

  async setCamera(on: boolean): Promise<void> {
    await this.media?.setCamera(on);
  }

  /** Shares the screen in place of the camera. Call it from a user gesture (browser rule). */
  async setScreenShare(on: boolean): Promise<void> {
    await this.media?.setScreenShare(on);
  }

  /** Switches to another microphone or camera (`deviceId` from `enumerateDevices`). */
  async useDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    await this.media?.useDevice(kind, deviceId);
  }

  /** Forces an ICE restart now (the call normally does this by itself when the path breaks). */
  restartIce(): void {
    this.session?.restartIce();
  }

  /** Sends a chat message over the data channel. Throws `message-too-long` or `not-joined`. */
  sendMessage(text: string): void {
    if (text.length > MAX_CHAT_LENGTH) {
      throw new CallError('message-too-long', `a message may have at most ${MAX_CHAT_LENGTH} characters`, { fatal: false });
    }
    if (this.remotePeerId === undefined || this.session === undefined) {
      throw new CallError('not-joined', 'nobody is connected to receive the message', { fatal: false });
    }
    this.sendOnChannel({ t: 'chat', text });
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  private async start(run: number): Promise<void> {
    this.teardown();
    this.setState('joining');
    const media = new LocalMedia(this.options.media);
    this.media = media;
    this.cleanups.push(
      media.on('track', ({ kind, track }) => void this.session?.setTrack(kind, track)),
      media.on('change', (state) => {
        this.emit('media-change', state);
        this.sendMeta();
      }),
      media.on('error', (error) => this.emit('error', error)),
    );
    await media.start();
    if (run !== this.run) throw cancelled();
    this.emit('local-stream', media.stream);

    const signaling = new SignalingClient({
      // Media flowing peer to peer outlives the signaling server: never give up on it then.
      keepTrying: () => this.session?.connectionState === 'connected',
      ...this.options.signaling,
      url: this.options.server,
      room: this.options.room,
      ...(this.options.token === undefined ? {} : { token: this.options.token }),
    });
    this.signaling = signaling;
    this.cleanups.push(
      signaling.on('joined', ({ message, resumed }) => {
        this.seated = true;
        this.polite = message.polite;
        this.serverIceServers = message.iceServers;
        if (this.session) {
          this.session.polite = message.polite;
          // Fresh TURN credentials for the next ICE restart of the running connection.
          this.session.setIceServers(this.iceServers());
        }
        this.seatTaken(message.peers[0], resumed);
      }),
      signaling.on('peer-joined', ({ peerId }) => this.peerArrived(peerId)),
      signaling.on('peer-reconnected', ({ peerId }) => {
        this.peerArrived(peerId);
        this.emit('peer-reconnected', { peerId });
      }),
      signaling.on('peer-disconnected', ({ peerId }) => this.emit('peer-disconnected', { peerId })),
      signaling.on('peer-left', ({ peerId, reason }) => this.peerGone(peerId, reason)),
      signaling.on('signal', ({ from, data }) => this.signalReceived(from, data)),
      signaling.on('state', ({ state }) => {
        this.emit('signaling-state', state);
        this.updateState();
      }),
      signaling.on('error', (error) => {
        if (error.fatal) this.fail(error);
        else this.emit('error', error);
      }),
    );
    try {
      await signaling.connect();
    } catch (error) {
      if (run !== this.run) throw error instanceof CallError && error.fatal ? error : cancelled();
      if (error instanceof CallError) this.fail(error);
      throw error;
    }
    if (run !== this.run) throw cancelled();
  }

  /**
   * Frees the seat at once and stops everything. Our listeners go first: the client's own
   * closing must not re-derive a state (e.g. `waiting` out of `reconnecting`) on the way out.
   */
  private leaveRoom(): void {
    const signaling = this.signaling;
    this.signaling = undefined;
    this.teardown();
    signaling?.leave();
  }

  /** Stops everything this run started; the state is set by the caller. */
  private teardown(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.closeSession();
    this.signaling?.close();
    this.signaling = undefined;
    this.media?.release();
    this.media = undefined;
    this.remotePeerId = undefined;
    this.remoteMedia = undefined;
    this.seated = false;
    this.hadMediaWithPeer = false;
  }

  private fail(error: CallError): void {
    if (isFinalState(this._state)) return;
    this.run++;
    // No path between us is the other side's problem too: tell it why we leave (before `leave`,
    // which the server handles after this relay).
    if (error.code === 'ice-failed' && this.remotePeerId !== undefined) this.sendSignal({ kind: 'bye', reason: 'ice-failed' });
    this.leaveRoom();
    this.setState('error');
    // Last, so listeners (which may call hangup()) find the call already settled.
    this.emit('error', error);
  }

  // -------------------------------------------------------------------------------------------
  // Presence

  private seatTaken(peer: string | undefined, resumed: boolean): void {
    if (peer !== undefined) {
      this.peerArrived(peer);
      return;
    }
    if (this.remotePeerId !== undefined) {
      // After a resume `peers` is authoritative: the other side left while we were away. After a
      // fresh seat (the server restarted) the other side is likely on its way back: keep a
      // connection whose media still flows; its data channel would carry a hangup.
      if (resumed || this.session?.connectionState !== 'connected') this.peerGone(this.remotePeerId, 'timeout');
    }
    this.updateState();
  }

  private peerArrived(peerId: string): void {
    if (this.remotePeerId === undefined) {
      this.remotePeerId = peerId;
      this.emit('peer-join', { peerId, ...(this.remoteMedia?.displayName ? { displayName: this.remoteMedia.displayName } : {}) });
    } else if (this.remotePeerId !== peerId) {
      // A new id with media still flowing: the same person on a restarted server (no peer-left
      // came). Adopt the id; the hello exchange below checks the connection is really theirs.
      this.remotePeerId = peerId;
    }
    this.sendSignal({ kind: 'hello', session: this.session?.id ?? null });
    this.updateState();
  }

  private peerGone(peerId: string, reason: PeerLeftReason): void {
    // Heard on the data channel and from the server: report one departure, once.
    if (peerId !== this.remotePeerId) return;
    this.remotePeerId = undefined;
    this.remoteMedia = undefined;
    this.hadMediaWithPeer = false;
    this.closeSession();
    this.emit('peer-leave', { peerId, reason });
    this.updateState();
  }

  // -------------------------------------------------------------------------------------------
  // Signals between the peers

  private signalReceived(from: string, data: Record<string, unknown>): void {
    // Arrivals come from joined/peer-joined/peer-reconnected only; a late signal from a peer
    // that already left (its hangup overtook it on the data channel) must not bring it back.
    if (from !== this.remotePeerId) return;
    const signal = parsePeerSignal(data);
    if (signal === undefined) return;
    const session = this.session;
    switch (signal.kind) {
      case 'hello': {
        const runningFits = session !== undefined && (session.remoteSession === undefined || session.remoteSession === signal.session);
        // An offer still unanswered when the other side says hello again was probably lost with
        // its socket (or dropped with a stale queue): say it again. Duplicates are harmless.
        if (runningFits && session) session.resendPendingOffer();
        if (this.polite) return; // Otherwise the impolite side decides; we answer its offers.
        if (!runningFits) this.openSession(true);
        else if (session && isUnhealthy(session)) session.restartIce();
        return;
      }
      case 'description': {
        if (session && session.remoteSession === signal.session) {
          void session.handle(signal);
        } else if (session && session.remoteSession === undefined && session.initiator) {
          session.remoteSession = signal.session;
          void session.handle(signal);
        } else if (signal.description.type === 'offer') {
          const fresh = this.openSession(false);
          fresh.remoteSession = signal.session;
          void fresh.handle(signal);
        }
        return; // else: an answer from a session we no longer talk to.
      }
      case 'candidate':
        if (session && session.remoteSession === signal.session) void session.handle(signal);
        return;
      case 'bye':
        // The other side found no network path to us: neither will we, so say so now.
        if (session?.connectionState !== 'connected') {
          this.fail(new CallError('ice-failed', 'no network path to the other side (a firewall without TURN?)'));
        }
        return;
      default:
        return assertNever(signal);
    }
  }

  private sendSignal(signal: PeerSignal): void {
    this.signaling?.send({ ...signal });
  }

  // -------------------------------------------------------------------------------------------
  // The peer connection

  private openSession(initiator: boolean): PeerSession {
    this.closeSession();
    const media = this.media;
    const session = new PeerSession({
      polite: this.polite,
      initiator,
      configuration: {
        iceServers: this.iceServers(),
        ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      },
      send: (signal) => this.sendSignal(signal),
      stream: media?.stream ?? new MediaStream(),
      audioTrack: media?.audioTrack ?? null,
      videoTrack: media?.videoTrack ?? null,
      sendVideo: !(media?.audioOnly ?? false),
    });
    this.session = session;
    session.on('connection-state', () => this.connectionChanged(session));
    session.on('ice-state', () => this.connectionChanged(session));
    session.on('remote-track', () => this.emit('remote-stream', session.remoteStream));
    session.on('channel-open', () => {
      this.sendMeta();
      for (const message of this.channelBacklog.splice(0)) session.sendChannel(message);
    });
    session.on('channel-message', (message) => this.channelMessage(message));
    session.on('problem', (error) => this.emit('error', new CallError('invalid-message', 'a signal from the other side could not be applied', { cause: error, fatal: false })));
    this.armIceTimer();
    this.updateState();
    return session;
  }

  /** The host page's ICE servers together with those the server sent in the latest `joined`. */
  private iceServers(): RTCIceServer[] {
    return [...(this.options.iceServers ?? []), ...this.serverIceServers];
  }

  private closeSession(): void {
    clearTimeout(this.iceTimer);
    clearTimeout(this.disconnectedTimer);
    clearInterval(this.statsTimer);
    this.iceTimer = this.disconnectedTimer = this.statsTimer = undefined;
    this.session?.close();
    this.session = undefined;
    this.channelBacklog = [];
  }

  private connectionChanged(session: PeerSession): void {
    if (session !== this.session) return;
    const ice = session.iceState;
    if (session.connectionState === 'connected') {
      clearTimeout(this.iceTimer);
      this.iceTimer = undefined;
      clearTimeout(this.disconnectedTimer);
      this.disconnectedTimer = undefined;
      this.startStats(session);
    } else if (ice === 'failed') {
      this.recover(session, 0);
    } else if (ice === 'disconnected') {
      this.recover(session, this.options.disconnectedTimeoutMs);
    }
    this.updateState();
  }

  /** ICE restart by the impolite side; the polite side steps in later if that never comes. */
  private recover(session: PeerSession, afterMs: number): void {
    this.armIceTimer();
    if (this.disconnectedTimer !== undefined) return;
    const delay = this.polite ? afterMs * 2 + this.options.disconnectedTimeoutMs : afterMs;
    this.disconnectedTimer = setTimeout(() => {
      this.disconnectedTimer = undefined;
      if (session === this.session && isUnhealthy(session)) session.restartIce();
    }, delay);
  }

  /** A connection that does not reach `connected` in time fails the call (e.g. bad TURN credentials: ICE stays `new`). */
  private armIceTimer(): void {
    if (this.iceTimer !== undefined) return;
    this.iceTimer = setTimeout(() => {
      this.iceTimer = undefined;
      if (this.session && this.session.connectionState !== 'connected') {
        this.fail(new CallError('ice-failed', 'no network path to the other side (a firewall without TURN?)'));
      }
    }, this.options.iceTimeoutMs);
  }

  private startStats(session: PeerSession): void {
    if (this.statsTimer !== undefined) return;
    const sampler = new StatsSampler(session.pc);
    this.statsTimer = setInterval(() => {
      if (session !== this.session || session.connectionState !== 'connected') return;
      sampler.sample().then((stats) => {
        if (session === this.session) this.emit('stats', stats);
      }, () => undefined);
    }, this.options.statsIntervalMs);
  }

  // -------------------------------------------------------------------------------------------
  // Data channel

  private channelMessage(message: ChannelMessage): void {
    const peerId = this.remotePeerId;
    if (peerId === undefined) return;
    switch (message.t) {
      case 'meta': {
        const { microphone, camera, screen, name } = message;
        this.remoteMedia = { microphone, camera, screen, ...(name === undefined ? {} : { displayName: name }) };
        this.emit('remote-media-change', this.remoteMedia);
        return;
      }
      case 'chat':
        this.emit('message', { from: peerId, text: message.text });
        return;
      case 'hangup':
        this.peerGone(peerId, 'hangup');
        return;
      default:
        return assertNever(message);
    }
  }

  /** Sends now, or once the data channel opens (messages written just as the call connects). */
  private sendOnChannel(message: ChannelMessage): void {
    if (this.session?.sendChannel(message)) return;
    this.channelBacklog.push(message);
    if (this.channelBacklog.length > MAX_CHANNEL_BACKLOG) this.channelBacklog.shift();
  }

  private sendMeta(): void {
    const name = this.options.displayName;
    this.session?.sendChannel({ t: 'meta', ...this.mediaState, ...(name === undefined ? {} : { name }) });
  }

  // -------------------------------------------------------------------------------------------
  // State: derived from the facts in one place

  private updateState(): void {
    if (this._state === 'idle' || isFinalState(this._state)) return;
    const session = this.session;
    const mediaUp = session?.connectionState === 'connected';
    let next: CallState;
    if (!this.seated) next = 'joining';
    else if (this.signaling?.state === 'reconnecting' && !mediaUp) next = 'reconnecting';
    else if (this.remotePeerId === undefined) next = 'waiting';
    else if (mediaUp) next = 'connected';
    else if (this.hadMediaWithPeer || (session && isUnhealthy(session))) next = 'reconnecting';
    else next = 'connecting';
    this.setState(next);
  }

  private setState(next: CallState): void {
    if (next === 'connected') this.hadMediaWithPeer = true;
    const previous = this._state;
    if (previous === next) return;
    this._state = next;
    this.emit('state', { state: next, previous });
  }
}

function cancelled(): CallError {
  return new CallError('not-joined', 'the join was cancelled by hangup()', { fatal: false });
}

function isUnhealthy(session: PeerSession): boolean {
  const ice = session.iceState;
  return ice === 'disconnected' || ice === 'failed';
}
