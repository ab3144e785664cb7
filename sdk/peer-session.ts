/**
 * One RTCPeerConnection with the other peer, negotiated the "perfect negotiation" way.
 *
 * The session that starts (the impolite side) creates an audio and a video transceiver and
 * a negotiated data channel, then offers. The answering side configures the transceivers the
 * offer created. After that the media lines never change: microphone, camera, screen and
 * device switches are `replaceTrack` on the same two senders, so nothing renegotiates except
 * ICE restarts. Glare is resolved by politeness; candidates that arrive before the remote
 * description are held until it is set; incoming signals are applied strictly in order.
 */
import { Emitter } from './emitter.js';
import type { CandidateSignal, ChannelMessage, DescriptionSignal, PeerSignal } from './peer-messages.js';
import { parseChannelMessage } from './peer-messages.js';

export interface PeerSessionOptions {
  polite: boolean;
  /** This side creates the transceivers and makes the first offer. */
  initiator: boolean;
  configuration: RTCConfiguration;
  send(signal: PeerSignal): void;
  /** The local stream the senders' tracks belong to (so the remote side groups them). */
  stream: MediaStream;
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
  /** Whether this side may ever send video (false for audio-only calls). */
  sendVideo: boolean;
}

export interface PeerSessionEvents {
  'connection-state': RTCPeerConnectionState;
  'ice-state': RTCIceConnectionState;
  'remote-track': MediaStreamTrack;
  'channel-open': undefined;
  'channel-message': ChannelMessage;
  /** Something went wrong applying a signal; the session may recover by an ICE restart. */
  problem: unknown;
}

export class PeerSession extends Emitter<PeerSessionEvents> {
  /** Names this RTCPeerConnection in every signal it sends. */
  readonly id = randomSessionId();
  /** The other side's session this one talks to, once known. */
  remoteSession: string | undefined;
  readonly pc: RTCPeerConnection;
  readonly remoteStream = new MediaStream();
  readonly initiator: boolean;
  polite: boolean;
  private channel: RTCDataChannel | undefined;
  private makingOffer = false;
  private ignoreOffer = false;
  private answered = false;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: PeerSessionOptions) {
    super();
    this.polite = options.polite;
    this.initiator = options.initiator;
    this.pc = new RTCPeerConnection(options.configuration);
    const pc = this.pc;
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && !this.closed) this.options.send({ kind: 'candidate', session: this.id, candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => this.emit('connection-state', pc.connectionState);
    pc.oniceconnectionstatechange = () => this.emit('ice-state', pc.iceConnectionState);
    pc.ontrack = ({ track }) => {
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      this.emit('remote-track', track);
    };
    if (this.initiator) {
      pc.addTransceiver(options.audioTrack ?? 'audio', { direction: 'sendrecv', streams: [options.stream] });
      pc.addTransceiver(options.videoTrack ?? 'video', { direction: options.sendVideo ? 'sendrecv' : 'recvonly', streams: [options.stream] });
      this.openChannel();
    }
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  get iceState(): RTCIceConnectionState {
    return this.pc.iceConnectionState;
  }

  /** Applies a description or candidate from the other side, after every earlier one. */
  handle(signal: DescriptionSignal | CandidateSignal): Promise<void> {
    this.chain = this.chain.then(
      () => (signal.kind === 'description' ? this.applyDescription(signal) : this.applyCandidate(signal)),
    ).catch((error: unknown) => {
      if (!this.closed) this.emit('problem', error);
    });
    return this.chain;
  }

  /** Puts a new track (or none) into the sender of `kind`; never renegotiates. */
  async setTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    const transceiver = this.transceiverOf(kind);
    if (transceiver === undefined || this.closed) return;
    await transceiver.sender.replaceTrack(track);
  }

  /** Uses these ICE servers from now on (e.g. fresh TURN credentials for the next ICE restart). */
  setIceServers(iceServers: RTCIceServer[]): void {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch {
      // A configuration the browser will not change in place: the next new connection gets it.
    }
  }

  /** Sends our current offer again if it is still waiting for an answer. */
  resendPendingOffer(): void {
    if (!this.closed && this.pc.signalingState === 'have-local-offer') this.sendLocalDescription();
  }

  restartIce(): void {
    if (!this.closed) this.pc.restartIce();
  }

  /** Sends on the data channel if it is open; returns whether it was sent. */
  sendChannel(message: ChannelMessage): boolean {
    if (this.channel?.readyState !== 'open') return false;
    this.channel.send(JSON.stringify(message));
    return true;
  }

  get channelOpen(): boolean {
    return this.channel?.readyState === 'open';
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.pc.close();
    this.removeAllListeners();
  }

  private async negotiate(): Promise<void> {
    // The answering side has nothing to offer until the first offer set up its media lines.
    if (this.closed || (!this.initiator && !this.answered)) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.sendLocalDescription();
    } catch (error) {
      this.emit('problem', error);
    } finally {
      this.makingOffer = false;
    }
  }

  private async applyDescription({ description }: DescriptionSignal): Promise<void> {
    if (this.closed) return;
    const pc = this.pc;
    const collision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await pc.setRemoteDescription(description); // Rolls back our own offer first when polite.
    if (description.type === 'offer') {
      if (!this.answered && !this.initiator) await this.takeOfferedLines();
      await pc.setLocalDescription();
      this.answered = true;
      this.sendLocalDescription();
    }
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of pending) await this.addCandidate(candidate);
  }

  private async applyCandidate({ candidate }: CandidateSignal): Promise<void> {
    if (this.closed) return;
    if (this.pc.remoteDescription === null) {
      this.pendingCandidates.push(candidate);
      return;
    }
    await this.addCandidate(candidate);
  }

  private async addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored in a collision are expected to fail.
      if (!this.ignoreOffer) throw error;
    }
  }

  /** On the answering side: send our tracks on the lines the first offer created. */
  private async takeOfferedLines(): Promise<void> {
    const { audioTrack, videoTrack, stream, sendVideo } = this.options;
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      const track = kind === 'audio' ? audioTrack : videoTrack;
      transceiver.direction = kind === 'video' && !sendVideo ? 'recvonly' : 'sendrecv';
      transceiver.sender.setStreams(stream);
      if (track) await transceiver.sender.replaceTrack(track);
    }
    this.openChannel();
  }

  private openChannel(): void {
    // Negotiated with a fixed id on both sides: no in-band announcement, no ordering race.
    const channel = this.pc.createDataChannel('p2p-call', { negotiated: true, id: 0 });
    this.channel = channel;
    channel.onopen = () => this.emit('channel-open', undefined);
    channel.onmessage = ({ data }) => {
      const message = parseChannelMessage(data);
      if (message) this.emit('channel-message', message);
    };
  }

  private transceiverOf(kind: 'audio' | 'video'): RTCRtpTransceiver | undefined {
    return this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
  }

  private sendLocalDescription(): void {
    const local = this.pc.localDescription;
    if (local === null || this.closed) return;
    this.options.send({ kind: 'description', session: this.id, description: { type: local.type, sdp: local.sdp } });
  }
}

function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
