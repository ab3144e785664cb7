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
  /**
   * Nothing at all received from the other side for this long while ICE still says connected
   * (a link gone quiet: browsers notice only after 5–7.5 s) makes the state `reconnecting`.
   */
  mediaStallMs?: number;
  /**
   * Before an ICE restart, server-minted TURN credentials that expire within this long are
   * renewed over the signaling socket (`ice-servers`).
   */
  credentialMarginMs?: number;
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
  /**
   * The other side is gone for now: its page said it is going away (closed or reloading), or its
   * signaling dropped (then media may still flow). Its seat is held; `peer-reconnected` or
   * `peer-leave` follows. Once per absence.
   */
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
  mediaStallMs: 1_500,
  credentialMarginMs: 30_000,
};

/** How often inbound traffic is checked for a stall, and the data channel heartbeat's period. */
const MEDIA_WATCH_MS = 250;
const ALIVE_MS = 1_000;
/** After a stall, how long traffic may flow without new video frames before the call counts as back anyway. */
const VIDEO_WAIT_MS = 4_000;

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
  private watchTimer: ReturnType<typeof setInterval> | undefined;
  /** Nothing has arrived from the other side for `mediaStallMs` although ICE says connected. */
  private mediaStalled = false;
  /** The other side is absent for now (said `away`, or its signaling dropped); reported once. */
  private peerAbsent = false;
  /** It said `away` on the data channel: its connection is closed, not just quiet. */
  private peerAway = false;
  /** A renewal of the server's TURN credentials in flight (both sides renew when ICE breaks). */
  private renewing: Promise<void> | undefined;
  /** Signaling events that came before the camera and microphone were ready (join overlaps both). */
  private beforeMedia: Array<() => void> | undefined;
  /** The page went away (pagehide); a page restored from the back/forward cache joins again. */
  private hiddenByPage = false;
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

  /**
   * Replaces the host page's ICE servers (used together with the server's). A running connection
   * uses them from its next ICE restart on; a new connection from the start.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.options.iceServers = [...iceServers];
    this.session?.setIceServers(this.iceServers());
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
    // The camera and the signaling handshake start together (both take round trips); what the
    // server says before the devices are ready waits for them, in order.
    const deferred: Array<() => void> = [];
    this.beforeMedia = deferred;
    const mediaStarted = media.start().then(() => {
      if (run !== this.run) return;
      this.emit('local-stream', media.stream);
      this.beforeMedia = undefined;
      for (const handler of deferred.splice(0)) handler();
    });
    const afterMedia = <T>(handler: (payload: T) => void) => (payload: T) => {
      if (this.beforeMedia) this.beforeMedia.push(() => handler(payload));
      else handler(payload);
    };

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
      signaling.on('joined', afterMedia(({ message, resumed }) => {
        this.seated = true;
        this.polite = message.polite;
        this.serverIceServers = message.iceServers;
        if (this.session) {
          this.session.polite = message.polite;
          // Fresh TURN credentials for the next ICE restart of the running connection.
          this.session.setIceServers(this.iceServers());
        }
        this.seatTaken(message.peers[0], resumed);
      })),
      signaling.on('peer-joined', afterMedia(({ peerId }) => this.peerArrived(peerId))),
      signaling.on('peer-reconnected', afterMedia(({ peerId }) => {
        this.peerArrived(peerId);
        this.emit('peer-reconnected', { peerId });
      })),
      signaling.on('peer-disconnected', afterMedia(({ peerId }) => this.peerAbsentNow(peerId, false))),
      signaling.on('peer-left', afterMedia(({ peerId, reason }) => this.peerGone(peerId, reason))),
      signaling.on('signal', afterMedia(({ from, data }) => this.signalReceived(from, data))),
      signaling.on('state', ({ state }) => {
        this.emit('signaling-state', state);
        this.updateState();
      }),
      signaling.on('error', (error) => {
        if (error.fatal) this.fail(error);
        else this.emit('error', error);
      }),
    );
    this.watchPage();
    try {
      await Promise.all([signaling.connect(), mediaStarted]);
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
    this.peerAbsent = this.peerAway = false;
    this.beforeMedia = undefined;
  }

  /**
   * A page closed, reloaded or navigated away mid-call says `away` (to the peer over the data
   * channel, to the server over the socket) instead of vanishing: the other side knows at once,
   * and the server holds the seat only briefly. The resume value stays, so a reload takes the
   * seat back. A page restored from the back/forward cache joins again.
   */
  private watchPage(): void {
    const target = globalThis as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>;
    if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') return;
    const onPageHide = () => this.pageHidden();
    target.addEventListener('pagehide', onPageHide);
    this.cleanups.push(() => target.removeEventListener?.('pagehide', onPageHide));
  }

  private pageHidden(): void {
    if (this._state === 'idle' || isFinalState(this._state)) return;
    this.run++;
    this.session?.sendChannel({ t: 'away' });
    const signaling = this.signaling;
    this.signaling = undefined;
    this.teardown();
    signaling?.away();
    this.setState('ended');
    this.hiddenByPage = true;
    globalThis.addEventListener?.('pageshow', (event) => {
      if (!(event as PageTransitionEvent).persisted || !this.hiddenByPage || this._state !== 'ended') return;
      this.hiddenByPage = false;
      this.join().catch(() => undefined);
    }, { once: true });
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

  /** The other side is gone for now: said `away` (`closed`: its connection is gone) or its socket dropped. */
  private peerAbsentNow(peerId: string, closed: boolean): void {
    if (peerId !== this.remotePeerId) return;
    if (closed) {
      this.peerAway = true;
      // Its RTCPeerConnection is closed: waiting 5–7 s for ICE to say so shows a frozen picture.
      this.closeSession();
    }
    if (!this.peerAbsent) {
      this.peerAbsent = true;
      this.emit('peer-disconnected', { peerId });
    }
    this.updateState();
  }

  private peerArrived(peerId: string): void {
    this.peerAbsent = this.peerAway = false;
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
    this.peerAbsent = this.peerAway = false;
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
        else if (session && isUnhealthy(session)) void this.restartSession(session);
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

  /**
   * Watches what arrives from the other side: RTP, RTCP and the data channel heartbeat all
   * count. Nothing for `mediaStallMs` while ICE still says connected is a stall (browsers report
   * ICE `disconnected` only after 5–7.5 s). A stall, or ICE broken, ends only once traffic flows
   * again and, when the other side sends video, new video frames are decoded: `connected` means
   * the picture moves (after an outage the sender's video can lag its audio by seconds).
   */
  private watchMedia(session: PeerSession): void {
    if (this.watchTimer !== undefined) return;
    let received = -1;
    let lastArrival = performance.now();
    let framesAtStall = 0;
    let trafficSince: number | undefined;
    let aliveSent = 0;
    let busy = false;
    this.watchTimer = setInterval(() => {
      if (session !== this.session || busy) return;
      const now = performance.now();
      if (now - aliveSent >= ALIVE_MS && session.sendChannel({ t: 'alive' })) aliveSent = now;
      busy = true;
      inboundTotals(session.pc).then(({ total, videoFrames }) => {
        busy = false;
        if (session !== this.session) return;
        const at = performance.now();
        const connected = session.connectionState === 'connected';
        const arrived = total !== received;
        if (arrived) {
          received = total;
          lastArrival = at;
        }
        let stalled = this.mediaStalled;
        if (!stalled && (!connected || at - lastArrival >= this.options.mediaStallMs)) {
          stalled = true;
          framesAtStall = videoFrames;
          trafficSince = undefined;
        } else if (stalled) {
          if (!connected || !arrived) trafficSince = undefined;
          else trafficSince ??= at;
          const remote = this.remoteMedia;
          const expectVideo = remote ? remote.camera || remote.screen : videoFrames > 0;
          // Frames again; or traffic for a while with no video coming (e.g. its camera died).
          const videoBack = !expectVideo || videoFrames > framesAtStall || (trafficSince !== undefined && at - trafficSince >= VIDEO_WAIT_MS);
          if (trafficSince !== undefined && videoBack) stalled = false;
        }
        if (stalled !== this.mediaStalled) {
          this.mediaStalled = stalled;
          this.updateState();
        }
      }, () => {
        busy = false;
      });
    }, MEDIA_WATCH_MS);
  }

  /**
   * Renews the server-minted TURN credentials over the socket when they expire within
   * `credentialMarginMs`, and applies them to the running connection (used from its next ICE
   * restart on). Both sides do this as soon as ICE breaks, so the restart finds fresh ones.
   */
  private renewCredentials(session: PeerSession): Promise<void> {
    if (this.renewing) return this.renewing;
    if (!credentialsExpire(this.serverIceServers, this.options.credentialMarginMs)) return Promise.resolve();
    const signaling = this.signaling;
    if (signaling === undefined) return Promise.resolve();
    this.renewing = signaling.requestIceServers().then((fresh) => {
      if (fresh && signaling === this.signaling) {
        this.serverIceServers = fresh;
        if (session === this.session) session.setIceServers(this.iceServers());
      }
    }).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /** One ICE restart, after fresh TURN credentials if ours are about to expire. */
  private async restartSession(session: PeerSession): Promise<void> {
    await this.renewCredentials(session);
    if (session === this.session && isUnhealthy(session)) session.restartIce();
  }

  /** The host page's ICE servers together with those the server sent in the latest `joined`. */
  private iceServers(): RTCIceServer[] {
    return [...(this.options.iceServers ?? []), ...this.serverIceServers];
  }

  private closeSession(): void {
    clearTimeout(this.iceTimer);
    clearTimeout(this.disconnectedTimer);
    clearInterval(this.statsTimer);
    clearInterval(this.watchTimer);
    this.iceTimer = this.disconnectedTimer = this.statsTimer = this.watchTimer = undefined;
    this.mediaStalled = false;
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
      this.watchMedia(session);
    } else if (ice === 'failed') {
      void this.renewCredentials(session);
      this.recover(session, 0);
    } else if (ice === 'disconnected') {
      void this.renewCredentials(session);
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
      if (session === this.session && isUnhealthy(session)) void this.restartSession(session);
    }, delay);
  }

  /** A connection that does not reach `connected` in time fails the call (e.g. bad TURN credentials: ICE stays `new`). */
  private armIceTimer(): void {
    if (this.iceTimer !== undefined) return;
    this.iceTimer = setTimeout(() => {
      this.iceTimer = undefined;
      const session = this.session;
      if (session === undefined || session.connectionState === 'connected') return;
      // The other side does not answer: its socket dropped, or our restart offer is unanswered.
      const unresponsive = this.peerAbsent || session.pc.signalingState === 'have-local-offer';
      if (this.hadMediaWithPeer && this.signaling?.state === 'joined' && unresponsive) {
        // It worked with this peer, our own path to the server is fine, and the other side has
        // gone quiet: what broke is its network. Not fatal: keep trying until it comes back, or
        // until the server says it left (its seat's grace ends: `peer-left` `timeout`). When both
        // sides answer each other and ICE still fails, the path itself is gone: `ice-failed`.
        this.armIceTimer();
        if (!this.polite) void this.restartSession(session);
        return;
      }
      this.fail(new CallError('ice-failed', 'no network path to the other side (a firewall without TURN?)'));
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
      case 'away':
        this.peerAbsentNow(peerId, true);
        return;
      case 'alive':
        return; // Counted by the stall watch as traffic; nothing else to do.
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
    const mediaUp = session?.connectionState === 'connected' && !this.mediaStalled;
    let next: CallState;
    if (!this.seated) next = 'joining';
    else if (this.signaling?.state === 'reconnecting' && !mediaUp) next = 'reconnecting';
    else if (this.remotePeerId === undefined) next = 'waiting';
    else if (this.peerAway) next = 'reconnecting';
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

/** Bytes and packets received so far from the other side (any media, RTCP, data channel), and video frames decoded. */
async function inboundTotals(pc: RTCPeerConnection): Promise<{ total: number; videoFrames: number }> {
  const report = await pc.getStats();
  let total = 0;
  let videoFrames = 0;
  report.forEach((stat: RTCStats & Record<string, unknown>) => {
    if (stat.type === 'transport' && typeof stat['bytesReceived'] === 'number') total += stat['bytesReceived'];
    else if (stat.type === 'inbound-rtp') {
      if (typeof stat['packetsReceived'] === 'number') total += stat['packetsReceived'];
      if (stat['kind'] === 'video' && typeof stat['framesDecoded'] === 'number') videoFrames += stat['framesDecoded'];
    }
  });
  return { total, videoFrames };
}

/** Whether a server-minted TURN credential (`<unix-expiry>:<id>`) expires within `marginMs`. */
function credentialsExpire(servers: readonly IceServer[], marginMs: number): boolean {
  return servers.some((server) => {
    const expiry = /^(\d+):/.exec(server.username ?? '')?.[1];
    return expiry !== undefined && Number(expiry) * 1000 - Date.now() < marginMs;
  });
}

function isUnhealthy(session: PeerSession): boolean {
  const ice = session.iceState;
  return ice === 'disconnected' || ice === 'failed';
}
