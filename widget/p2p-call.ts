import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { CallError, type CallState, type LocalMediaOptions } from '../sdk/index.js';
import { CallController } from './call-controller.js';
import { defaultServerUrl } from './default-server.js';
import { P2PCallEvent, type P2PCallState } from './events.js';
import { translator, type StringKey } from './i18n.js';
import { hasHeldSeat, rememberName, rememberedName } from './rejoin.js';
import { icons } from './icons.js';
import { LobbyPreview } from './lobby-preview.js';
import { MediaDevicesController } from './media-devices.js';
import { styles } from './p2p-call.styles.js';

/** Codes with their own human message; anything else shows the generic one. */
const EXPLAINED = new Set([
  'media-denied', 'media-unavailable', 'room-full', 'unauthorized', 'server-unreachable',
  'unsupported-protocol', 'server-busy', 'session-replaced', 'ice-failed', 'timeout',
  'message-too-long', 'not-joined', 'invalid-room', 'server-closed',
]);

type ErrorInfo = { code: string; message: string; fatal: boolean };

/**
 * A one-to-one audio/video call in one element: lobby with self-preview, controls, chat, and
 * every state a call goes through.
 *
 * @tag p2p-call
 * @summary Embeddable 1:1 video call.
 *
 * @event p2p-state-change - `{ state, previous }` on every state change.
 * @event p2p-peer-join - `{ peerId, displayName? }` once per arrival of the other person.
 * @event p2p-peer-leave - `{ peerId, reason }` once per departure (`hangup` | `timeout`).
 * @event p2p-media-change - `{ microphone, camera, screen }` of this side.
 * @event p2p-remote-media-change - `{ microphone, camera, screen, displayName? }` of the other side.
 * @event p2p-message - `{ from, text }` for each chat message received.
 * @event p2p-stats - `{ rttMs, inboundKbps, outboundKbps, packetLoss, candidateType, quality }` every few seconds.
 * @event p2p-error - `{ code, message, fatal }`.
 *
 * @csspart base - The whole call surface.
 * @csspart stage - The video area.
 * @csspart remote-video - The other person's `<video>`.
 * @csspart local-video - The self view `<video>`.
 * @csspart avatar - The avatar shown for audio-only or camera-off.
 * @csspart status - The status panel (no room, joining, waiting, connecting, reconnecting, ended, error).
 * @csspart lobby - The pre-join panel.
 * @csspart controls - The toolbar.
 * @csspart button - Every toolbar button.
 * @csspart microphone-button - Microphone on/off.
 * @csspart camera-button - Camera on/off.
 * @csspart screen-button - Screen share on/off.
 * @csspart chat-button - Opens the chat panel.
 * @csspart devices-button - Opens the device choice.
 * @csspart pip-button - Picture in picture (hidden on narrow layouts).
 * @csspart fullscreen-button - Full screen on/off.
 * @csspart hangup-button - The leave button.
 * @csspart join-button - The lobby's join button.
 * @csspart chat - The chat panel.
 *
 * @cssprop [--p2p-call-accent=#2563eb] - Accent color (join button, focus ring, own messages).
 * @cssprop [--p2p-call-background=#0f172a] - The stage behind the videos (dark in both color schemes).
 * @cssprop [--p2p-call-surface=#1e293b] - Panels and the toolbar (#ffffff in a light color scheme).
 * @cssprop [--p2p-call-text=#f8fafc] - Text color (#0f172a in a light color scheme).
 * @cssprop [--p2p-call-danger=#dc2626] - Leave button and errors.
 * @cssprop [--p2p-call-radius=12px] - Corner radius.
 * @cssprop [--p2p-call-font=system-ui, -apple-system, 'Segoe UI', sans-serif] - Font family.
 */
export class P2PCall extends LitElement {
  static override styles = styles;

  static override properties = {
    room: { type: String, reflect: true },
    server: { type: String },
    token: { type: String },
    iceServers: { attribute: 'ice-servers', converter: { fromAttribute: parseIceServers, toAttribute: (v: unknown) => JSON.stringify(v) } },
    iceTransportPolicy: { type: String, attribute: 'ice-transport-policy', reflect: true },
    autojoin: { type: Boolean, reflect: true },
    muted: { type: Boolean, reflect: true },
    cameraOff: { type: Boolean, attribute: 'camera-off', reflect: true },
    audioOnly: { type: Boolean, attribute: 'audio-only', reflect: true },
    displayName: { type: String, attribute: 'display-name', reflect: true },
    lang: { type: String, reflect: true },
    inviteUrl: { type: String, attribute: 'invite-url' },
    iceTimeout: { type: Number, attribute: 'ice-timeout' },
    _state: { state: true },
    _error: { state: true },
    _notice: { state: true },
    _chatOpen: { state: true },
    _devicesOpen: { state: true },
    _unread: { state: true },
    _soundBlocked: { state: true },
    _copied: { state: true },
    _fullscreen: { state: true },
    _pictureInPicture: { state: true },
    _peerLeft: { state: true },
    _heard: { state: true },
  };

  /** Room to join (required to join). */
  declare room: string;
  /** Signaling WebSocket URL; default: `/ws` on the origin this script was loaded from. */
  declare server: string | undefined;
  /** Join token (JWT) when the server requires one. */
  declare token: string | undefined;
  /** The host page's ICE servers (JSON array in the attribute), used with the server's. */
  declare iceServers: RTCIceServer[] | undefined;
  /** `all` (default) or `relay` (TURN only: never reveal local addresses). */
  declare iceTransportPolicy: RTCIceTransportPolicy;
  /** Skip the lobby and join as soon as the element is on the page. */
  declare autojoin: boolean;
  /** Join with the microphone off; toggling it during a call mutes/unmutes, and during a call it follows the microphone's real state (toolbar, shortcut, a failed device). */
  declare muted: boolean;
  /** Join (and preview in the lobby) with the camera off; toggling it during a call turns the camera off/on, and during a call it follows the camera's real state. */
  declare cameraOff: boolean;
  /** Never ask for a camera. */
  declare audioOnly: boolean;
  /** Name shown to the other person. */
  declare displayName: string;
  /** UI language (`en`, `zh-CN`); default: the nearest `lang` on the page, then the browser's. */
  declare lang: string;
  /** The link the "copy invite link" button copies; default: this page's address. */
  declare inviteUrl: string | undefined;
  /** Milliseconds ICE may take to connect (or reconnect) before the call fails with `ice-failed`; default 20000. */
  declare iceTimeout: number | undefined;

  declare private _state: P2PCallState;
  declare private _error: ErrorInfo | undefined;
  /** A non-fatal problem shown as a banner (e.g. camera denied: the call goes on receive-only). */
  declare private _notice: ErrorInfo | undefined;
  declare private _chatOpen: boolean;
  declare private _devicesOpen: boolean;
  declare private _unread: number;
  declare private _soundBlocked: boolean;
  /** Feedback of the copy-link button: `done`, or `failed` (the link is then shown to copy by hand). */
  declare private _copied: 'done' | 'failed' | undefined;
  declare private _fullscreen: boolean;
  declare private _pictureInPicture: boolean;
  /** The other person left and nobody has joined since: said in the waiting panel. */
  declare private _peerLeft: boolean;
  /** Chat messages received since the last state change; the live region announces the latest. */
  declare private _heard: number;

  private readonly controller = new CallController(this);
  private readonly preview = new LobbyPreview(this);
  private readonly devices = new MediaDevicesController(this);
  private joining: Promise<void> | undefined;
  private removalTimer: ReturnType<typeof setTimeout> | undefined;
  /** The room the current call or preview was started with (undefined while idle). */
  private startedRoom: string | undefined;
  private cameraChoice: string | undefined;
  private microphoneChoice: string | undefined;
  private speakerChoice: string | undefined;
  private readonly onKeyDown = (event: KeyboardEvent) => this.shortcut(event);
  private readonly onFullscreenChange = () => (this._fullscreen = document.fullscreenElement === this);

  constructor() {
    super();
    this.room = '';
    this.iceTransportPolicy = 'all';
    this.autojoin = false;
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.displayName = '';
    this._state = 'idle';
    this._chatOpen = false;
    this._devicesOpen = false;
    this._unread = 0;
    this._soundBlocked = false;
    this._fullscreen = false;
    this._pictureInPicture = false;
    this._peerLeft = false;
    this._heard = 0;
    this.addEventListener('p2p-message', () => {
      if (!this._chatOpen) this._unread++;
      this._heard++;
    });
    this.addEventListener('p2p-peer-leave', () => (this._peerLeft = true));
    this.addEventListener('p2p-peer-join', () => (this._peerLeft = false));
    // During a call `muted` and `camera-off` follow what is really on (toolbar, shortcuts, a
    // device that failed); willUpdate only acts when they differ from it, so this cannot loop.
    this.addEventListener('p2p-media-change', ({ detail }) => {
      if (!this.controller.call) return;
      this.muted = !detail.microphone;
      if (!this.audioOnly) this.cameraOff = !detail.camera;
    });
  }

  /** Where the call is: idle → preview → joining → waiting → connecting → connected ⇄ reconnecting; ended; error. */
  get state(): P2PCallState {
    return this._state;
  }

  // -------------------------------------------------------------------------------------------
  // Public methods

  /** Joins `room`; resolves once seated (waiting or connecting); rejects with a typed error (`not-joined` when `hangup()` cancels it). */
  join(): Promise<void> {
    if (this.joining && ['joining', 'waiting', 'connecting', 'connected', 'reconnecting'].includes(this._state)) {
      return this.joining;
    }
    if (!this.room) return Promise.reject(new CallError('not-joined', 'set the room attribute before joining', { fatal: false }));
    this._error = undefined;
    this.resetPanels();
    this.startedRoom = this.room;
    this.setState('joining');
    // A p2p-state-change listener may have called hangup() already.
    if (this._state !== 'joining') return Promise.reject(new CallError('not-joined', 'the join was cancelled by hangup()', { fatal: false }));
    rememberName(this.room, this.displayName);
    const stream = this.preview.take();
    this.joining = this.controller.join({
      server: this.server || defaultServerUrl(),
      room: this.room,
      ...(this.token ? { token: this.token } : {}),
      ...(this.iceServers ? { iceServers: this.iceServers } : {}),
      iceTransportPolicy: this.iceTransportPolicy === 'relay' ? 'relay' : 'all',
      ...(this.iceTimeout && this.iceTimeout > 0 ? { iceTimeoutMs: this.iceTimeout } : {}),
      ...(this.displayName ? { displayName: this.displayName } : {}),
      media: this.mediaOptions(stream),
    });
    return this.joining;
  }

  /** Leaves the call (or cancels a join, or closes the lobby) and releases camera and microphone. Idempotent. */
  hangup(): void {
    // In the lobby only the preview is open, and early in `joining` the SDK call may not exist
    // yet: release (or cancel) all the same.
    if (!this.controller.call && this._state !== 'preview' && this._state !== 'joining') return;
    this.controller.hangup();
    this.preview.stop();
    this.joining = undefined;
    this.setState('ended');
  }

  /** Turns the microphone on or off (off mutes the track; turning it back on is instant). */
  async setMicrophone(on: boolean): Promise<void> {
    await this.controller.call?.setMicrophone(on);
  }

  /** A camera that is off is stopped (its light goes off) and comes back without renegotiation. */
  async setCamera(on: boolean): Promise<void> {
    await this.controller.call?.setCamera(on);
  }

  /** Shares the screen instead of the camera. Call from a user gesture (browser rule). */
  async setScreenShare(on: boolean): Promise<void> {
    await this.controller.call?.setScreenShare(on);
  }

  /** Sends a chat message (plain text, size-limited) over the data channel. */
  sendMessage(text: string): void {
    this.controller.sendMessage(text);
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  override connectedCallback(): void {
    super.connectedCallback();
    clearTimeout(this.removalTimer);
    this.addEventListener('keydown', this.onKeyDown);
    document.addEventListener('fullscreenchange', this.onFullscreenChange);
    if (this._state === 'idle') this.enter();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.removeEventListener('keydown', this.onKeyDown);
    document.removeEventListener('fullscreenchange', this.onFullscreenChange);
    // A move within the page (removed and re-added in the same task) keeps the call.
    this.removalTimer = setTimeout(() => {
      if (this.isConnected) return;
      this.controller.end();
      this.preview.stop();
      this.joining = undefined;
      this.startedRoom = undefined;
      this.setState('idle');
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // `room` set and join() called in the same task: join() already took the new room.
    if (changed.has('room') && this.startedRoom !== undefined && this.room !== this.startedRoom) this.roomChanged();
    // On the page, idle, and now a room (e.g. set right after append()): go.
    else if (this.isConnected && this._state === 'idle' && this.room) this.enter();
    else if (this.hasUpdated && this._state === 'preview' && (changed.has('cameraOff') || changed.has('audioOnly'))) void this.startPreview();
    const call = this.controller.call;
    if (!call || !this.hasUpdated) return;
    // New host ICE servers (e.g. renewed TURN credentials): used from the next ICE restart.
    if (changed.has('iceServers')) call.setIceServers(this.iceServers ?? []);
    // Act only on a change that differs from what is on: the media-change mirror sets these too.
    // Early in `joining` the media is not open yet; LocalMedia applies the wish once it is.
    const { microphone, camera } = this.controller.media;
    const early = this._state === 'joining';
    if (changed.has('muted') && (early || this.muted === microphone)) void call.setMicrophone(!this.muted);
    if (changed.has('cameraOff') && (early || this.cameraOff === camera)) void call.setCamera(!this.cameraOff);
  }

  protected override updated(): void {
    this.attachStream('local-video', this.controller.localStream ?? this.preview.stream, true);
    this.attachStream('remote-video', this.controller.remoteStream, false);
    const log = this.renderRoot.querySelector('.chat-log');
    if (log) log.scrollTop = log.scrollHeight;
  }

  /** Called by the controller when the SDK's state moves. @internal */
  callStateChanged(state: CallState): void {
    if (state === 'idle') return;
    if (state === 'ended') {
      this.setState('ended');
      return;
    }
    this.setState(state);
  }

  /** Called by the controller for every SDK error. @internal */
  callError(error: CallError): void {
    const info = { code: error.code, message: error.message, fatal: error.fatal };
    this.dispatchEvent(new P2PCallEvent('p2p-error', info));
    if (error.fatal) {
      this._error = info;
      this.controller.end();
      this.joining = undefined;
      this.setState('error');
    } else if (error.code === 'media-denied' || error.code === 'media-unavailable') {
      this._notice = info;
    }
  }

  /** The one place the state changes: records, announces and emits the transition. */
  private setState(next: P2PCallState): void {
    const previous = this._state;
    if (previous === next) return;
    this._state = next;
    this._heard = 0;
    if (next !== 'connected' && next !== 'reconnecting') this._soundBlocked = false;
    this.dispatchEvent(new P2PCallEvent('p2p-state-change', { state: next, previous }));
  }

  /** On the page with a room: join at once (autojoin) or open the lobby's self-preview. */
  private enter(): void {
    if (!this.room) return;
    if (!this.displayName) this.displayName = rememberedName(this.room) ?? '';
    if (this.autojoin || hasHeldSeat(this.server || defaultServerUrl(), this.room)) {
      this.join().catch(() => undefined); // The error state and p2p-error carry it.
    } else {
      this.startedRoom = this.room;
      this.setState('preview');
      void this.startPreview();
    }
  }

  private roomChanged(): void {
    this.controller.end();
    this.preview.stop();
    this.joining = undefined;
    this._error = undefined;
    this.startedRoom = undefined;
    this.resetPanels();
    this.setState('idle');
    if (this.isConnected) this.enter();
  }

  /** What belonged to the previous call or room: banners, chat, unread count, copy feedback. */
  private resetPanels(): void {
    this._notice = this._copied = undefined;
    this._chatOpen = this._devicesOpen = this._peerLeft = false;
    this._unread = 0;
  }

  private async startPreview(): Promise<void> {
    await this.preview.start({
      audio: chosenDevice(this.microphoneChoice),
      video: this.audioOnly || this.cameraOff ? false : chosenDevice(this.cameraChoice),
    });
    const failure = this.preview.failure;
    if (failure !== undefined) {
      const notice = { code: failure.code, message: failure.message, fatal: false };
      this._notice = notice;
      this.dispatchEvent(new P2PCallEvent('p2p-error', notice));
    }
    await this.devices.refresh();
  }

  private mediaOptions(stream: MediaStream | undefined): LocalMediaOptions {
    return {
      audio: chosenDevice(this.microphoneChoice),
      video: chosenDevice(this.cameraChoice),
      audioOnly: this.audioOnly,
      muted: this.muted,
      cameraOff: this.cameraOff,
      ...(stream ? { stream } : {}),
    };
  }

  private attachStream(part: string, stream: MediaStream | undefined, muted: boolean): void {
    const video = this.renderRoot.querySelector<HTMLVideoElement & { sinkId?: string; setSinkId?(id: string): Promise<void> }>(`video[part~="${part}"]`);
    if (!video) return;
    // The speaker chosen in the lobby or before a rejoin: this <video> is new since then.
    const sink = this.speakerChoice;
    if (!muted && sink && video.setSinkId && video.sinkId !== sink) void video.setSinkId(sink).catch(() => undefined);
    if (video.srcObject === (stream ?? null)) return;
    video.srcObject = stream ?? null;
    video.muted = muted;
    if (!stream) return;
    video.play().catch((error: unknown) => {
      // Autoplay with sound refused: play muted and ask for one click to enable sound.
      if (muted || !(error instanceof DOMException) || error.name !== 'NotAllowedError') return;
      video.muted = true;
      this._soundBlocked = true;
      void video.play().catch(() => undefined);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Interaction

  private shortcut(event: KeyboardEvent): void {
    const origin = event.composedPath()[0];
    if (origin instanceof HTMLElement && origin.closest('input, textarea, select')) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const call = this.controller.call;
    if (!call) return;
    if (event.key === 'm' || event.key === 'M') {
      event.preventDefault();
      void call.setMicrophone(!this.controller.media.microphone);
    } else if ((event.key === 'v' || event.key === 'V') && !this.audioOnly) {
      event.preventDefault();
      void call.setCamera(!this.controller.media.camera);
    }
  }

  /** Arrow keys move between toolbar buttons (the WAI-ARIA toolbar pattern); Tab still leaves it. */
  private toolbarKeys(event: KeyboardEvent): void {
    const keys: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    const step = keys[event.key];
    if (step === undefined && event.key !== 'Home' && event.key !== 'End') return;
    const buttons = [...(event.currentTarget as HTMLElement).querySelectorAll('button')].filter((b) => b.offsetParent !== null);
    const current = buttons.indexOf(event.composedPath()[0] as HTMLButtonElement);
    const next = event.key === 'Home' ? 0 : event.key === 'End' ? buttons.length - 1 : (current + (step ?? 0) + buttons.length) % buttons.length;
    event.preventDefault();
    buttons[next]?.focus();
  }

  private async copyInvite(): Promise<void> {
    const link = this.inviteUrl || location.href;
    try {
      await navigator.clipboard.writeText(link);
      this._copied = 'done';
    } catch {
      // Show the link, selected, to copy by hand.
      this._copied = 'failed';
      await this.updateComplete;
      const input = this.renderRoot.querySelector<HTMLInputElement>('.invite');
      input?.focus();
      input?.select();
    }
  }

  private toggleFullscreen(): void {
    if (document.fullscreenElement === this) void document.exitFullscreen();
    else void this.requestFullscreen?.().catch(() => undefined);
  }

  private pictureInPicture(): void {
    const video = this.renderRoot.querySelector<HTMLVideoElement>('video[part~="remote-video"]');
    if (!video) return;
    if (document.pictureInPictureElement === video) void document.exitPictureInPicture();
    else void video.requestPictureInPicture?.().catch(() => undefined);
  }

  private enableSound(): void {
    const video = this.renderRoot.querySelector<HTMLVideoElement>('video[part~="remote-video"]');
    if (!video) return;
    video.muted = false;
    void video.play().then(() => (this._soundBlocked = false), () => undefined);
  }

  private sendChat(event: Event): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('message') as HTMLInputElement;
    const text = input.value.trim();
    if (!text) return;
    try {
      this.sendMessage(text);
      input.value = '';
    } catch (error) {
      if (error instanceof CallError) this._notice = { code: error.code, message: error.message, fatal: false };
    }
  }

  private async chooseDevice(kind: 'camera' | 'microphone' | 'speaker', deviceId: string): Promise<void> {
    if (kind === 'speaker') {
      this.speakerChoice = deviceId;
      const video = this.renderRoot.querySelector<HTMLVideoElement & { setSinkId?(id: string): Promise<void> }>('video[part~="remote-video"]');
      await video?.setSinkId?.(deviceId).catch(() => undefined);
      return;
    }
    if (kind === 'camera') this.cameraChoice = deviceId;
    else this.microphoneChoice = deviceId;
    const call = this.controller.call;
    if (call) await call.useDevice(kind === 'camera' ? 'video' : 'audio', deviceId);
    else if (this._state === 'preview') await this.startPreview();
    this.requestUpdate();
  }

  // -------------------------------------------------------------------------------------------
  // Rendering

  private get t(): (key: StringKey) => string {
    return translator(this.lang || this.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang || navigator.language);
  }

  override render(): TemplateResult {
    const state = this._state;
    const inCall = state === 'waiting' || state === 'connecting' || state === 'connected' || state === 'reconnecting';
    return html`
      <div part="base" class="base" data-state=${state} ?data-audio-only=${this.audioOnly}>
        <div part="stage" class="stage">
          ${this.renderRemote(inCall)}
          ${this.renderLocal(inCall)}
          ${state === 'preview' ? this.renderLobby() : nothing}
          ${this.renderStatus()}
          ${this._notice ? this.renderNotice(this._notice) : nothing}
          ${inCall && this._chatOpen ? this.renderChat() : nothing}
          ${this._devicesOpen && inCall ? this.renderDevices() : nothing}
        </div>
        ${inCall ? this.renderControls() : nothing}
        <div class="sr-only" role="status" aria-live="polite">${keyed(this._heard, this.announcement())}</div>
      </div>
    `;
  }

  private renderRemote(inCall: boolean) {
    if (!inCall) return nothing;
    const remote = this.controller.remote;
    const present = this._state === 'connected' || this._state === 'reconnecting';
    const name = remote?.displayName || this.t('them');
    const showAvatar = this.audioOnly || (present && remote !== undefined && !remote.camera && !remote.screen);
    // Bars only while media flows: a stale sample must not say "good" over a frozen picture.
    const quality = this._state === 'connected' ? this.controller.stats?.quality : undefined;
    return html`
      <video part="remote-video" class="remote" playsinline autoplay ?hidden=${!present || showAvatar}
        @enterpictureinpicture=${() => (this._pictureInPicture = true)}
        @leavepictureinpicture=${() => (this._pictureInPicture = false)}></video>
      ${present && showAvatar ? html`<div part="avatar" class="avatar" aria-hidden="true">${initial(name)}</div>` : nothing}
      ${present ? html`
        <div class="remote-label">
          <span>${name}</span>
          ${remote && !remote.microphone ? html`<span class="badge" title=${this.t('muted')}>${icons.micOff}<span class="sr-only">${this.t('muted')}</span></span>` : nothing}
          ${quality ? html`<span class="quality q-${quality}" role="img" aria-label=${this.t(`quality${capitalize(quality)}` as StringKey)} title=${this.t(`quality${capitalize(quality)}` as StringKey)}><i></i><i></i><i></i></span>` : nothing}
        </div>` : nothing}
      ${this._soundBlocked ? html`<button class="unlock" @click=${this.enableSound}>${icons.sound}${this.t('enableSound')}</button>` : nothing}
    `;
  }

  private renderLocal(inCall: boolean) {
    const lobby = this._state === 'preview';
    if (this.audioOnly || !(inCall || lobby)) return nothing;
    const cameraOn = lobby ? (this.preview.stream?.getVideoTracks().length ?? 0) > 0 : this.controller.media.camera || this.controller.media.screen;
    return html`<video part="local-video" class=${lobby ? 'local lobby-view' : 'local'} playsinline autoplay muted ?hidden=${!cameraOn}
      aria-label=${this.t('you')}></video>`;
  }

  private renderLobby() {
    const level = Math.round(this.preview.level * 100);
    return html`
      <form part="lobby" class="lobby panel" @submit=${(e: Event) => {
        e.preventDefault();
        this.join().catch(() => undefined);
      }}>
        <h2>${this.t('lobbyTitle')}</h2>
        ${this.cameraOff && !this.audioOnly ? html`<p>${this.t('cameraIsOff')}</p>` : nothing}
        <label class="field">${this.t('joinAs')}
          <input name="name" autocomplete="nickname" maxlength="80" .value=${this.displayName}
            @input=${(e: Event) => (this.displayName = (e.target as HTMLInputElement).value)} />
        </label>
        ${this.renderDeviceFields()}
        <label class="field">${this.t('micLevel')}<meter min="0" max="100" low="5" .value=${level}></meter></label>
        <button part="join-button" class="primary" type="submit">${this.t('join')}</button>
      </form>
    `;
  }

  private renderDeviceFields() {
    const { cameras, microphones, speakers } = this.devices.lists;
    const select = (kind: 'camera' | 'microphone' | 'speaker', list: MediaDeviceInfo[], chosen: string | undefined) =>
      list.length === 0 ? nothing : html`
        <label class="field">${this.t(kind)}
          <select @change=${(e: Event) => void this.chooseDevice(kind, (e.target as HTMLSelectElement).value)}>
            ${list.map((device, i) => html`<option value=${device.deviceId} ?selected=${device.deviceId === chosen}>${device.label || `${this.t(kind)} ${i + 1}`}</option>`)}
          </select>
        </label>`;
    const canChooseSpeaker = 'setSinkId' in HTMLMediaElement.prototype;
    return html`
      ${this.audioOnly ? nothing : select('camera', cameras, this.cameraChoice)}
      ${select('microphone', microphones, this.microphoneChoice)}
      ${canChooseSpeaker ? select('speaker', speakers, this.speakerChoice) : nothing}
    `;
  }

  private renderDevices() {
    return html`
      <div class="devices panel" role="dialog" aria-label=${this.t('settings')}>
        ${this.renderDeviceFields()}
        <button class="icon close" @click=${() => (this._devicesOpen = false)} aria-label=${this.t('close')}>${icons.close}</button>
      </div>`;
  }

  private renderStatus() {
    const t = this.t;
    switch (this._state) {
      case 'idle':
        return this.room ? nothing : html`<div part="status" class="status panel"><p>${t('noRoom')}</p></div>`;
      case 'joining':
        return html`<div part="status" class="status panel"><span class="spinner" aria-hidden="true"></span><p>${t('joining')}</p></div>`;
      case 'waiting':
        return html`<div part="status" class="status panel">
          ${this._peerLeft ? html`<p>${t('peerLeft')}</p>` : nothing}
          <p>${t('waiting')}</p>
          <button class="secondary" @click=${() => void this.copyInvite()}>${icons.link}${t(this._copied === 'done' ? 'copied' : this._copied ? 'copyFailed' : 'copyLink')}</button>
          ${this._copied === 'failed' ? html`<input class="invite" readonly aria-label=${t('copyLink')} .value=${this.inviteUrl || location.href} />` : nothing}
        </div>`;
      case 'connecting':
        return html`<div part="status" class="status panel"><span class="spinner" aria-hidden="true"></span><p>${t('connecting')}</p></div>`;
      case 'reconnecting':
        return html`<div part="status" class="status panel overlay"><span class="spinner" aria-hidden="true"></span><p>${t(this.controller.peerAbsent ? 'peerAway' : 'reconnecting')}</p></div>`;
      case 'ended':
        return html`<div part="status" class="status panel"><p>${t('ended')}</p>
          <button class="primary" @click=${() => this.join().catch(() => undefined)}>${t('rejoin')}</button></div>`;
      case 'error': {
        const code = this._error?.code ?? 'unknown';
        const key = errorKey(code);
        // Always a way on (EMBED.md: "the UI offers a retry"): a room frees up, a host page
        // renews its token, a server is updated; a retry that cannot help fails again at once.
        return html`<div part="status" class="status panel error" role="alert"><p>${t(key)}</p>
          <button class="primary" @click=${() => this.join().catch(() => undefined)}>${t('retry')}</button></div>`;
      }
      default:
        return nothing;
    }
  }

  private renderNotice(notice: ErrorInfo) {
    const key = errorKey(notice.code);
    return html`<div class="notice" role="alert"><span>${this.t(key)}</span>
      <button class="icon" @click=${() => (this._notice = undefined)} aria-label=${this.t('close')}>${icons.close}</button></div>`;
  }

  private renderControls() {
    const t = this.t;
    const { microphone, camera, screen } = this.controller.media;
    const call = this.controller.call;
    const canShare = typeof navigator.mediaDevices?.getDisplayMedia === 'function';
    const canPip = 'pictureInPictureEnabled' in document && document.pictureInPictureEnabled && !this.audioOnly;
    const button = (name: string, label: string, icon: unknown, pressed: boolean | undefined, onClick: () => void) => html`
      <button part="button ${name}-button" class="icon b-${name}" aria-label=${label} title=${label}
        aria-pressed=${pressed === undefined ? nothing : String(pressed)} @click=${onClick}>${icon}</button>`;
    return html`
      <div part="controls" class="controls" role="toolbar" aria-label=${t('controls')} @keydown=${this.toolbarKeys}>
        ${button('microphone', t('muteMicrophone'), microphone ? icons.mic : icons.micOff, !microphone, () => void call?.setMicrophone(!microphone))}
        ${this.audioOnly ? nothing : button('camera', t('stopCamera'), camera ? icons.cam : icons.camOff, !camera, () => void call?.setCamera(!camera))}
        ${canShare && !this.audioOnly ? button('screen', t('shareScreen'), icons.screen, screen, () => void call?.setScreenShare(!screen)) : nothing}
        ${button('chat', this._unread > 0 ? t('chatUnread').replace('{n}', String(this._unread)) : t('chat'), html`${icons.chat}${this._unread > 0 ? html`<span class="unread">${this._unread}</span>` : nothing}`, this._chatOpen, () => {
          this._chatOpen = !this._chatOpen;
          this._unread = 0;
        })}
        ${button('devices', t('settings'), icons.settings, this._devicesOpen, () => {
          this._devicesOpen = !this._devicesOpen;
          if (this._devicesOpen) void this.devices.refresh();
        })}
        ${canPip ? button('pip', t('pictureInPicture'), icons.pip, this._pictureInPicture, () => this.pictureInPicture()) : nothing}
        ${button('fullscreen', t('fullscreen'), icons.fullscreen, this._fullscreen, () => this.toggleFullscreen())}
        ${button('hangup', t('hangup'), icons.hangup, undefined, () => this.hangup())}
      </div>`;
  }

  private renderChat() {
    const t = this.t;
    return html`
      <aside part="chat" class="chat panel" aria-label=${t('chat')}>
        <ol class="chat-log">
          ${this.controller.chat.map((line) => html`<li class=${line.from}>${line.text}</li>`)}
        </ol>
        <form @submit=${this.sendChat}>
          <input name="message" maxlength="4000" autocomplete="off" aria-label=${t('messagePlaceholder')} placeholder=${t('messagePlaceholder')} />
          <button class="primary" type="submit">${t('send')}</button>
        </form>
      </aside>`;
  }

  private announcement(): string {
    const keys: Partial<Record<P2PCallState, StringKey>> = {
      joining: 'joining', waiting: 'waiting', connecting: 'connecting', connected: 'connected',
      reconnecting: 'reconnecting', ended: 'ended',
    };
    // Errors are not repeated here: the error panel is role="alert" and announces itself.
    if (this._heard > 0) return this.t('newMessage').replace('{name}', this.controller.remote?.displayName || this.t('them'));
    const key = keys[this._state];
    const text = key ? this.t(key) : '';
    return this._state === 'waiting' && this._peerLeft ? `${this.t('peerLeft')} ${text}` : text;
  }
}

/** The i18n key of an error code's human message (a generic one for codes without their own). */
function errorKey(code: string): StringKey {
  return (EXPLAINED.has(code) ? `error.${code}` : 'error.unknown') as StringKey;
}

/** getUserMedia constraints for one kind: the device the user picked, or the default. */
function chosenDevice(deviceId: string | undefined): MediaTrackConstraints | true {
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

function parseIceServers(value: string | null): RTCIceServer[] | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? (parsed as RTCIceServer[]) : undefined;
  } catch {
    return undefined;
  }
}

function initial(name: string): string {
  return (name.trim()[0] ?? '?').toUpperCase();
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
